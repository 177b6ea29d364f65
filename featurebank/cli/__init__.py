"""The `featurebank` command: one typer app, one module per group of commands."""
