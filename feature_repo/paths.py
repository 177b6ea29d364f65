"""Where the repo's data lives: the one place the definitions read the environment.

Feast imports every module of the repo as a top-level module, so the other definition files do
`from paths import ...`. FileSource paths are absolute (Feast stores them in the registry as
given, and the API server and stream processor run from other directories) and follow one
convention the rest of Feature Bank relies on: a single Parquet file, or `<dir>/*.parquet` for
sources that other processes append files to (stream history, pushed rows). The relative layout
below must match what `featurebank.demo.generate` writes.
"""

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent

# An unset or empty variable falls back to `<repo>/../data`, the layout of a checkout.
DATA_DIR = (
    Path(os.environ.get("FEATUREBANK_DATA_DIR") or REPO_DIR.parent / "data").expanduser().resolve()
)

KAFKA_BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")


def parquet_file(relative: str) -> str:
    """Absolute path of one Parquet file under the data directory."""
    return str(DATA_DIR / relative)


def parquet_glob(relative_dir: str) -> str:
    """Absolute `<dir>/*.parquet` glob: a directory other processes may add files to."""
    return f"{DATA_DIR / relative_dir}/*.parquet"
