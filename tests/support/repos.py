"""Throwaway Feast repos written at test time, so tests never depend on the demo catalog."""

from __future__ import annotations

import textwrap
from pathlib import Path

FEATURE_STORE_YAML = """\
project: {project}
provider: local
registry:
  registry_type: file
  path: ${{FEATUREBANK_DATA_DIR}}/registry.db
  cache_ttl_seconds: 0
online_store:
  type: redis
  connection_string: ${{FEATUREBANK_REDIS_CONNECTION}}
offline_store:
  type: duckdb
entity_key_serialization_version: 3
"""


def write_repo(root: Path, project: str, definitions: str) -> Path:
    """Create `root/repo` with a feature_store.yaml and one definitions module."""
    repo = root / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(FEATURE_STORE_YAML.format(project=project))
    (repo / "definitions.py").write_text(textwrap.dedent(definitions))
    return repo
