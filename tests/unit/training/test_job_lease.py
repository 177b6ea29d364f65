"""Job records and leases on disk: an owner that is gone makes its job fail, once.

Pure file logic with explicit clocks (`now=`), no sleeping: the kill -9 end-to-end case is in
tests/integration/training/test_training_owner_lost.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from featurebank.errors import NotFound
from featurebank.training import jobs
from featurebank.training.lease import LEASE_FILE, Heartbeat, read_lease, write_lease
from featurebank.training.registry_of_sets import list_training_sets

SET_ID = "0123456789abcdef0123456789abcdef"


def _record(status: str = "running", owner: str | None = "host:1:abcd") -> jobs.JobRecord:
    return jobs.JobRecord(id=SET_ID, status=status, created_at="2026-01-01T00:00:00+00:00",
                          feature_refs=["stats:rate"], feature_service=None, views=["stats"],
                          entity_rows=3, phase="joining", owner=owner)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    path = jobs.job_dir(tmp_path, SET_ID)
    path.mkdir(parents=True)
    return path


def test_a_live_lease_keeps_the_job_running(directory: Path) -> None:
    write_lease(directory, "host:1:abcd", lease_s=30)
    jobs.write_record(directory, _record())
    assert jobs.load(directory).status == "running"
    assert not (directory / jobs.RESULT_FILE).exists()


def test_an_expired_lease_fails_the_job_and_cleans_partial_output(directory: Path) -> None:
    write_lease(directory, "host:1:abcd", lease_s=30)
    jobs.write_record(directory, _record())
    (directory / "tmp").mkdir()
    (directory / "tmp" / "part.parquet").write_bytes(b"partial")
    (directory / "data.parquet").write_bytes(b"partial")
    lease = read_lease(directory)
    assert lease is not None

    record = jobs.load(directory, now=lease.expires_at + 1)

    assert record.status == "failed"
    assert record.error is not None
    assert record.error["code"] == jobs.OWNER_LOST
    assert "submit the same request again" in record.error["message"]
    assert record.error["detail"]["owner"] == "host:1:abcd"
    assert record.error["detail"]["status_then"] == "running"
    assert record.error["detail"]["phase_then"] == "joining"
    assert record.finished_at is not None
    assert not (directory / "tmp").exists()
    assert not (directory / "data.parquet").exists()
    on_disk = json.loads((directory / jobs.RESULT_FILE).read_text())
    assert on_disk["status"] == "failed"
    assert json.loads((directory / jobs.JOB_FILE).read_text())["status"] == "failed"
    assert jobs.load(directory).status == "failed"  # stays failed without any clock games


def test_an_unfinished_record_without_a_lease_is_an_orphan(directory: Path) -> None:
    """Records written before leases existed, by a process that has since died."""
    jobs.write_record(directory, _record(status="queued", owner=None))
    record = jobs.load(directory)
    assert record.status == "failed"
    assert record.error is not None
    assert record.error["detail"]["status_then"] == "queued"


def test_the_first_verdict_wins(directory: Path) -> None:
    """A stalled owner that finishes after being declared lost cannot flip the answer."""
    write_lease(directory, "host:1:abcd", lease_s=30)
    jobs.write_record(directory, _record())
    lease = read_lease(directory)
    assert lease is not None
    assert jobs.load(directory, now=lease.expires_at + 1).status == "failed"

    late = _record(status="succeeded")
    winner = jobs.finish(directory, late)
    assert winner.status == "failed"
    jobs.write_record(directory, _record())  # a stale progress write from the stalled owner
    assert jobs.load(directory).status == "failed"


def test_an_owner_verdict_is_not_overridden_by_a_late_reaper(directory: Path) -> None:
    write_lease(directory, "host:1:abcd", lease_s=30)
    jobs.write_record(directory, _record())
    assert jobs.finish(directory, _record(status="succeeded")).status == "succeeded"
    assert jobs.load(directory, now=time.time() + 3600).status == "succeeded"


def test_terminal_records_from_before_result_files_are_read_as_they_are(directory: Path) -> None:
    jobs.write_record(directory, _record(status="succeeded", owner=None))
    assert jobs.load(directory, now=time.time() + 3600).status == "succeeded"


def test_unknown_fields_from_a_newer_replica_are_ignored(directory: Path) -> None:
    data = {"id": SET_ID, "status": "succeeded", "created_at": "2026-01-01T00:00:00+00:00",
            "feature_refs": ["stats:rate"], "views": ["stats"], "something_new": 1}
    (directory / jobs.JOB_FILE).write_text(json.dumps(data))
    record = jobs.load(directory)
    assert (record.status, record.entity_rows, record.feature_service) == ("succeeded", 0, None)


def test_missing_and_malformed_ids_are_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        jobs.read_record(tmp_path, SET_ID)
    with pytest.raises(NotFound):
        jobs.read_record(tmp_path, "../../etc")


def test_listing_shows_orphans_as_failed(tmp_path: Path, directory: Path) -> None:
    jobs.write_record(directory, _record(owner=None))
    [listed] = list_training_sets(tmp_path)
    assert listed.status == "failed"


def test_heartbeat_holds_and_releases(directory: Path) -> None:
    beat = Heartbeat(owner="me:2:beef", lease_s=60)
    beat.hold(directory)
    lease = read_lease(directory)
    assert lease is not None
    assert lease.owner == "me:2:beef"
    assert not lease.expired(time.time())
    assert beat.held() == [directory]
    beat.release(directory)
    beat.stop()
    assert beat.held() == []


def test_an_unreadable_lease_counts_as_none(directory: Path) -> None:
    (directory / LEASE_FILE).write_text("{not json")
    assert read_lease(directory) is None
