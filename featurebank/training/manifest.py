"""What makes a training set reproducible, and re-running one to prove it.

A manifest records the request (feature refs, service, timestamp column, plan), a hash of the
definitions of exactly the views involved, the SHA-256 of the normalised entity rows (kept
beside the manifest as `entities.parquet`), the files read with size and mtime, the row count
and the SHA-256 of the output file. Re-running it against unchanged data and definitions gives
a byte-identical file (fixed row groups, deterministic tie-breaks); when something changed the
report names it: the definition hash, each added/removed/modified file, the output hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from featurebank.definitions import Definitions
from featurebank.errors import InvalidInput
from featurebank.training.engine import Progress, RetrievalResult, retrieve
from featurebank.training.features import Selection, definition_hash, select_features
from featurebank.training.sink import table_sha256
from featurebank.training.snapshot import FileStamp, diff

MANIFEST_VERSION = 1
ENTITIES_FILE = "entities.parquet"
OUTPUT_FILE = "data.parquet"
MANIFEST_FILE = "manifest.json"


@dataclass
class Manifest:
    id: str
    created_at: str
    project: str
    registry_version: str
    feature_refs: list[str]
    feature_service: str | None
    full_feature_names: bool
    timestamp_column: str
    views: list[str]
    definition_hash: str
    entity_input_sha256: str
    entities_file: str
    spine: dict[str, Any] | None
    plan: str
    data_snapshot: dict[str, list[dict[str, Any]]]
    data_fingerprint: str
    row_count: int
    columns: list[str]
    output_file: str
    output_sha256: str
    timings: dict[str, float] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInput(f"{path.name!r} is not a training-set manifest: {exc}") from None


def snapshot_fingerprint(snapshot: dict[str, list[dict[str, Any]]]) -> str:
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _snapshot(files: dict[str, list[FileStamp]]) -> dict[str, list[dict[str, Any]]]:
    return {view: [item.as_dict() for item in stamps] for view, stamps in sorted(files.items())}


def build(directory: Path, set_id: str, definitions: Definitions, selection: Selection,
          spine: pa.Table, *, timestamp_column: str, spine_spec: dict[str, Any] | None = None,
          plan: str = "auto", progress: Progress | None = None) -> Manifest:
    """Write entities, data and manifest into `directory` and return the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(spine, directory / ENTITIES_FILE, compression="zstd")
    result: RetrievalResult = retrieve(
        selection, spine, directory / OUTPUT_FILE, timestamp_column=timestamp_column, plan=plan,
        progress=progress, temp_dir=directory / "tmp")
    snapshot = _snapshot(result.files)
    manifest = Manifest(
        id=set_id, created_at=datetime.now(UTC).isoformat(), project=definitions.project,
        registry_version=definitions.version, feature_refs=list(selection.feature_refs),
        feature_service=selection.service, full_feature_names=selection.full_feature_names,
        timestamp_column=timestamp_column, views=list(selection.view_names),
        definition_hash=definition_hash(definitions, selection),
        entity_input_sha256=table_sha256(spine), entities_file=ENTITIES_FILE, spine=spine_spec,
        plan=result.plan, data_snapshot=snapshot, data_fingerprint=snapshot_fingerprint(snapshot),
        row_count=result.rows, columns=result.columns, output_file=OUTPUT_FILE,
        output_sha256=result.output_sha256, timings=result.timings)
    # Atomic: a status request may read the manifest while the job is still writing it.
    temp = directory / f".{MANIFEST_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
    temp.write_text(manifest.to_json())
    os.replace(temp, directory / MANIFEST_FILE)
    return manifest


@dataclass
class RerunReport:
    identical: bool
    output: Path
    output_sha256: str
    changes: list[str]


def rerun(manifest_path: Path, definitions: Definitions, out: Path,
          progress: Progress | None = None) -> RerunReport:
    """Rebuild a training set from its manifest into `out` and say what, if anything, changed."""
    manifest = Manifest.load(manifest_path)
    entities_path = manifest_path.parent / manifest.entities_file
    if not entities_path.is_file():
        raise InvalidInput(f"the manifest's entity rows {manifest.entities_file!r} are missing "
                           f"next to {manifest_path.name!r}")
    spine = pq.read_table(entities_path)
    changes: list[str] = []
    if table_sha256(spine) != manifest.entity_input_sha256:
        changes.append(f"entity rows in {manifest.entities_file} differ from the recorded hash")
    if manifest.feature_service:
        selection = select_features(definitions, service=manifest.feature_service,
                                    full_feature_names=manifest.full_feature_names)
    else:
        selection = select_features(definitions, features=manifest.feature_refs,
                                    full_feature_names=manifest.full_feature_names)
    if definition_hash(definitions, selection) != manifest.definition_hash:
        changes.append(f"definitions of {', '.join(manifest.views)} changed")
    result = retrieve(selection, spine, out, timestamp_column=manifest.timestamp_column,
                      plan=manifest.plan, progress=progress)
    now = [item for stamps in result.files.values() for item in stamps]
    before = [item for items in manifest.data_snapshot.values() for item in items]
    changes += diff(before, now)
    if result.output_sha256 != manifest.output_sha256:
        changes.append(f"output differs: sha256 {manifest.output_sha256[:12]}… -> "
                       f"{result.output_sha256[:12]}…, rows {manifest.row_count} -> {result.rows}")
    return RerunReport(identical=result.output_sha256 == manifest.output_sha256, output=out,
                       output_sha256=result.output_sha256, changes=changes)


__all__ = ["Manifest", "RerunReport", "build", "rerun"]
