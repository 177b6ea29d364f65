"""Training-set jobs kept on disk, so any API replica (or a restarted one) can answer for them.

Layout: `<data_path>/training_sets/<id>/` holds `job.json` (status, progress, timings, error),
`entities.parquet`, `data.parquet` and `manifest.json`. Ids are generated here (uuid4 hex) and
an id from a URL is checked against that shape before it touches a path. `job.json` is replaced
atomically, so a reader never sees half a record. Work runs in a thread pool: DuckDB releases
the GIL while it joins, so the event loop stays responsive.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from featurebank.definitions import Definitions
from featurebank.errors import FeatureBankError, NotFound
from featurebank.training import manifest as manifests
from featurebank.training.features import Selection

log = logging.getLogger("featurebank.training")
JOBS_DIR = "training_sets"
JOB_FILE = "job.json"
_ID = re.compile(r"^[0-9a-f]{32}$")
PROGRESS_EVERY_S = 0.5


@dataclass
class JobRecord:
    id: str
    status: str  # queued | running | succeeded | failed
    created_at: str
    feature_refs: list[str]
    feature_service: str | None
    views: list[str]
    entity_rows: int
    progress: float = 0.0
    phase: str = "queued"
    rows: int | None = None
    plan: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    finished_at: str | None = None


def jobs_root(data_path: Path) -> Path:
    return data_path / JOBS_DIR


def job_dir(data_path: Path, set_id: str) -> Path:
    if not _ID.match(set_id):
        raise NotFound(f"no training set {set_id!r}", detail={"id": set_id})
    return jobs_root(data_path) / set_id


def write_record(directory: Path, record: JobRecord) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{JOB_FILE}.{os.getpid()}.tmp"
    temp.write_text(json.dumps(asdict(record), sort_keys=True))
    os.replace(temp, directory / JOB_FILE)


def read_record(data_path: Path, set_id: str) -> JobRecord:
    path = job_dir(data_path, set_id) / JOB_FILE
    try:
        return JobRecord(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise NotFound(f"no training set {set_id!r}", detail={"id": set_id}) from None


def read_manifest(data_path: Path, set_id: str) -> dict[str, Any] | None:
    path = job_dir(data_path, set_id) / manifests.MANIFEST_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def new_job(data_path: Path, selection: Selection, entity_rows: int) -> JobRecord:
    record = JobRecord(id=uuid.uuid4().hex, status="queued",
                       created_at=datetime.now(UTC).isoformat(),
                       feature_refs=list(selection.feature_refs),
                       feature_service=selection.service, views=list(selection.view_names),
                       entity_rows=entity_rows)
    write_record(job_dir(data_path, record.id), record)
    return record


def run_job(data_path: Path, record: JobRecord, definitions: Definitions, selection: Selection,
            spine: pa.Table, *, timestamp_column: str, spine_spec: dict[str, Any] | None = None,
            plan: str = "auto") -> JobRecord:
    """Build the training set; the record on disk follows along and ends succeeded or failed."""
    directory = job_dir(data_path, record.id)
    record.status, record.phase = "running", "joining"
    write_record(directory, record)
    last = 0.0

    def progress(phase: str, fraction: float) -> None:
        nonlocal last
        record.phase, record.progress = phase, round(fraction, 4)
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_S:
            last = now
            write_record(directory, record)

    try:
        manifest = manifests.build(directory, record.id, definitions, selection, spine,
                                   timestamp_column=timestamp_column, spine_spec=spine_spec,
                                   plan=plan, progress=progress)
    except FeatureBankError as exc:
        record.status, record.error = "failed", {"code": exc.code, "message": exc.message,
                                                 "detail": exc.detail}
    except Exception as exc:  # recorded for the caller; details go to the log only
        log.exception("training set %s failed", record.id)
        record.status = "failed"
        record.error = {"code": "internal_error",
                        "message": f"internal error ({type(exc).__name__})"}
    else:
        record.status, record.rows, record.plan = "succeeded", manifest.row_count, manifest.plan
        record.timings = manifest.timings
        record.progress, record.phase = 1.0, "done"
    finally:
        shutil.rmtree(directory / "tmp", ignore_errors=True)
    record.finished_at = datetime.now(UTC).isoformat()
    write_record(directory, record)
    return record


class JobRunner:
    """A small pool of worker threads; a replica runs the jobs it accepted."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="training-set")

    def submit(self, data_path: Path, record: JobRecord, definitions: Definitions,
               selection: Selection, spine: pa.Table, **options: Any) -> Future[JobRecord]:
        return self._pool.submit(run_job, data_path, record, definitions, selection, spine,
                                 **options)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
