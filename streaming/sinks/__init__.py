"""Where a processed batch goes: Redis online, Parquet offline, and the dead-letter topic."""
