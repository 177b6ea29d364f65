"""Training-set jobs kept on disk, so any API replica (or a restarted one) can answer for them.

Layout: `<data_path>/training_sets/<id>/` holds `job.json` (status, progress, timings while the
job runs), `lease.json` (who runs it, until when; see `lease.py`), `result.json` (the terminal
record, written once), `entities.parquet`, `data.parquet` and `manifest.json`. Ids are generated
here (uuid4 hex) and an id from a URL is checked against that shape before it touches a path.
`job.json` is replaced atomically, so a reader never sees half a record.

A job ends exactly once: `finish` hard-links a complete temp file to `result.json`, which fails
if it already exists, so the first verdict wins — the owner's own, or a reader's "the owner is
gone" when the lease expired (`load`). A stalled owner that wakes up after being declared gone
cannot flip the answer back. Work runs in a thread pool: DuckDB releases the GIL while it joins,
so the event loop stays responsive.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
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
from featurebank.training.lease import Heartbeat, Lease, read_lease

log = logging.getLogger("featurebank.training")
JOBS_DIR = "training_sets"
JOB_FILE = "job.json"
RESULT_FILE = "result.json"
TERMINAL = ("succeeded", "failed")
OWNER_LOST = "owner_lost"
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
    owner: str | None = None  # the runner holding the lease; None on records from before leases
    origin: str = "server"  # "cli": built by `featurebank training-set`, rows not kept here


def jobs_root(data_path: Path) -> Path:
    return data_path / JOBS_DIR


def job_dir(data_path: Path, set_id: str) -> Path:
    if not _ID.match(set_id):
        raise NotFound(f"no training set {set_id!r}", detail={"id": set_id})
    return jobs_root(data_path) / set_id


def _temp(directory: Path, name: str) -> Path:
    """A temp name unique per process and thread (the owner and a reaper may share a process)."""
    return directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"


def write_record(directory: Path, record: JobRecord) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    temp = _temp(directory, JOB_FILE)
    temp.write_text(json.dumps(asdict(record), sort_keys=True))
    os.replace(temp, directory / JOB_FILE)


_FIELDS = frozenset(JobRecord.__dataclass_fields__)


def _read(path: Path) -> JobRecord:
    """A record from disk; fields this version does not know (a newer replica's) are ignored."""
    data = json.loads(path.read_text())
    data.setdefault("feature_service", None)
    data.setdefault("entity_rows", 0)
    return JobRecord(**{key: value for key, value in data.items() if key in _FIELDS})


def finish(directory: Path, record: JobRecord) -> JobRecord:
    """Record the terminal state once; returns the verdict that won (maybe another's)."""
    text = json.dumps(asdict(record), sort_keys=True)
    temp = _temp(directory, RESULT_FILE)
    temp.write_text(text)
    try:
        os.link(temp, directory / RESULT_FILE)
    except FileExistsError:
        return _read(directory / RESULT_FILE)
    except OSError:  # a filesystem without hard links: exclusive create, then write
        try:
            with open(directory / RESULT_FILE, "x") as handle:
                handle.write(text)
        except FileExistsError:
            return _read(directory / RESULT_FILE)
    finally:
        temp.unlink(missing_ok=True)
    write_record(directory, record)  # keeps job.json in step for anyone reading it directly
    return record


def _owner_lost(directory: Path, record: JobRecord, lease: Lease | None, now: float
                ) -> JobRecord:
    """The failed record for a job whose owner stopped renewing its lease."""
    was = record.status
    expired = (datetime.fromtimestamp(lease.expires_at, UTC).isoformat()
               if lease is not None else None)
    owner = lease.owner if lease is not None else record.owner
    record.status = "failed"
    record.error = {
        "code": OWNER_LOST,
        "message": (f"the server process building this training set stopped while the job "
                    f"was {was} (phase {record.phase!r}); nothing is working on it any more — "
                    f"submit the same request again to build it"),
        "detail": {"owner": owner, "lease_expired_at": expired, "status_then": was,
                   "phase_then": record.phase, "resubmit": True},
    }
    record.finished_at = datetime.fromtimestamp(now, UTC).isoformat()
    return record


def load(directory: Path, *, now: float | None = None) -> JobRecord:
    """The job's current record, failing it first if its owner is gone (FileNotFoundError if
    there is no job). Safe from any replica: the lease, not the local pid table, decides."""
    try:
        return _read(directory / RESULT_FILE)
    except FileNotFoundError:
        pass
    except ValueError:  # being written by the no-hard-link fallback: the next read has it
        log.info("training set %s: result.json is being written", directory.name)
    record = _read(directory / JOB_FILE)
    if record.status in TERMINAL:  # finished before result.json existed
        return record
    lease = read_lease(directory)
    now = time.time() if now is None else now
    if lease is not None and not lease.expired(now):
        return record
    log.warning("training set %s: owner %s is gone (lease %s); marking it failed", record.id,
                lease.owner if lease else record.owner, "expired" if lease else "missing")
    lost = _owner_lost(directory, record, lease, now)
    verdict = finish(directory, lost)
    if verdict is lost:  # only now, when "failed" won: a stalled owner may have succeeded first
        shutil.rmtree(directory / "tmp", ignore_errors=True)
        (directory / manifests.OUTPUT_FILE).unlink(missing_ok=True)
    return verdict


def read_record(data_path: Path, set_id: str) -> JobRecord:
    try:
        return load(job_dir(data_path, set_id))
    except FileNotFoundError:
        raise NotFound(f"no training set {set_id!r}", detail={"id": set_id}) from None


def read_manifest(data_path: Path, set_id: str) -> dict[str, Any] | None:
    path = job_dir(data_path, set_id) / manifests.MANIFEST_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def record_built(data_path: Path, manifest: manifests.Manifest, entity_rows: int, *,
                 origin: str = "cli") -> JobRecord:
    """Record a training set built outside the API (the CLI) where the API records its jobs,
    so the catalog's lineage and usage, `GET /training-sets/{id}` and `list_training_sets`
    see it like any other. Only the manifest is kept: the rows stay in the file the CLI wrote."""
    record = JobRecord(id=manifest.id, status="succeeded", created_at=manifest.created_at,
                       feature_refs=list(manifest.feature_refs),
                       feature_service=manifest.feature_service, views=list(manifest.views),
                       entity_rows=entity_rows, progress=1.0, phase="done",
                       rows=manifest.row_count, plan=manifest.plan, timings=manifest.timings,
                       finished_at=datetime.now(UTC).isoformat(), origin=origin)
    directory = job_dir(data_path, record.id)
    directory.mkdir(parents=True)
    temp = _temp(directory, manifests.MANIFEST_FILE)
    temp.write_text(manifest.to_json())
    os.replace(temp, directory / manifests.MANIFEST_FILE)
    return finish(directory, record)


def run_job(data_path: Path, record: JobRecord, definitions: Definitions, selection: Selection,
            spine: pa.Table, *, timestamp_column: str, spine_spec: dict[str, Any] | None = None,
            plan: str = "auto") -> JobRecord:
    """Build the training set; the record on disk follows along and ends succeeded or failed."""
    directory = job_dir(data_path, record.id)
    if (directory / RESULT_FILE).exists():  # already declared lost while it sat in the queue
        return _read(directory / RESULT_FILE)
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
    winner = finish(directory, record)
    if winner is not record:
        log.warning("training set %s finished as %s after being declared lost; keeping %s",
                    record.id, record.status, winner.status)
    return winner


class JobRunner:
    """A small pool of worker threads; a replica runs the jobs it accepted and holds a lease
    on each from creation until it ends, so other replicas can tell when it died."""

    def __init__(self, workers: int = 2, *, lease_s: float | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="training-set")
        self.heartbeat = Heartbeat(lease_s=lease_s)

    def create(self, data_path: Path, selection: Selection, entity_rows: int) -> JobRecord:
        """A queued record with this runner's lease on it (the lease is written first, so no
        reader ever sees an unfinished record without one)."""
        record = JobRecord(id=uuid.uuid4().hex, status="queued",
                           created_at=datetime.now(UTC).isoformat(),
                           feature_refs=list(selection.feature_refs),
                           feature_service=selection.service, views=list(selection.view_names),
                           entity_rows=entity_rows, owner=self.heartbeat.owner)
        directory = job_dir(data_path, record.id)
        directory.mkdir(parents=True)
        self.heartbeat.hold(directory)
        write_record(directory, record)
        return record

    def submit(self, data_path: Path, record: JobRecord, definitions: Definitions,
               selection: Selection, spine: pa.Table, **options: Any) -> Future[JobRecord]:
        directory = job_dir(data_path, record.id)
        try:
            future = self._pool.submit(run_job, data_path, record, definitions, selection, spine,
                                       **options)
        except RuntimeError:  # the pool is shut down: let the lease lapse, readers fail the job
            self.heartbeat.release(directory)
            raise
        future.add_done_callback(lambda _: self.heartbeat.release(directory))
        return future

    def shutdown(self) -> None:
        """Stop taking work; queued jobs are dropped and show as lost once their lease ends."""
        self._pool.shutdown(wait=False, cancel_futures=True)
