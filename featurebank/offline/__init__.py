"""Offline Parquet history read through DuckDB: source resolution, latest rows, appends."""
