"""A slow stream read in many small polls leaves few history files, still exactly once."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import committed_offsets, produce, start_cli_processor
from stream_support import assert_exact, history_rows, make_workload, wait_until

from featurebank.offline.writer import offset_parts

pytestmark = pytest.mark.slow

EVENTS = 3_000
POLL = 5


def _trickle(bootstrap: str, topic: str, messages: list[Any], slices: int = 30) -> None:
    """Send the messages in slices a little apart, so the processor polls a few at a time."""
    size = -(-len(messages) // slices)
    for start in range(0, len(messages), size):
        produce(bootstrap, topic, messages[start:start + size])
        time.sleep(0.2)


def _assert_disjoint(directory: Path, topic: str) -> None:
    """Each partition's files cover disjoint offset ranges (no replayed range kept twice)."""
    by_partition: dict[int, list[tuple[int, int]]] = {}
    for part in offset_parts(directory, topic):
        by_partition.setdefault(part.partition, []).append((part.first, part.last))
    for ranges in by_partition.values():
        ranges.sort()
        for (_, last), (first, _) in itertools.pairwise(ranges):
            assert first > last, f"overlapping history files: {ranges}"


def test_small_polls_share_history_files(stream_repo_factory: Any, redis_url: str) -> None:
    repo = stream_repo_factory(partitions=2)
    workload = make_workload(EVENTS, 200, seed=13)
    processor = repo.start_processor(max_poll_records=POLL, offline_flush_s=2.0)
    _trickle(repo.settings.kafka_bootstrap_servers, repo.topic, workload.encoded())
    assert_exact(repo, workload, redis_url)

    polls_at_least = len(workload.messages) // POLL
    files = sorted(repo.history_dir().glob("*.parquet"))
    written = processor.metrics.totals["history_files", repo.topic]
    print(f"{len(workload.messages)} messages in >= {polls_at_least} polls -> {len(files)} files")
    assert 2 <= len(files) <= written
    assert len(files) * 10 < polls_at_least  # one file per poll would be >= 600
    _assert_disjoint(repo.history_dir(), repo.topic)

    # Once everything is written, every offset is committed (the commit followed the flush).
    repo.stop_all()
    committed = committed_offsets(repo.settings, repo.topic, 2)
    assert sum(c or 0 for c in committed) == len(workload.messages)


def test_kill_9_with_buffered_history_then_restart(stream_repo_factory: Any, redis_url: str,
                                                   tmp_path: Path) -> None:
    """Killed while rows wait in the buffer and files exist past the last commit's end."""
    repo = stream_repo_factory(partitions=2)
    workload = make_workload(EVENTS, 200, seed=17)
    bootstrap = repo.settings.kafka_bootstrap_servers
    first = start_cli_processor(repo.settings, tmp_path, "--max-poll-records", str(POLL),
                                "--offline-flush-s", "1")
    sender = threading.Thread(target=_trickle, args=(bootstrap, repo.topic, workload.encoded()))
    sender.start()
    try:
        wait_until(lambda: len(history_rows(repo.history_dir())) > 300, 60, "some history")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        sender.join()
    assert len(history_rows(repo.history_dir())) < len(workload.messages), "killed too late"

    # Restart with another flush interval: replayed ranges get other file boundaries.
    second = start_cli_processor(repo.settings, tmp_path, "--offline-flush-s", "3")
    try:
        assert_exact(repo, workload, redis_url)
        _assert_disjoint(repo.history_dir(), repo.topic)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        if second.poll() is None:
            second.kill()
    committed = committed_offsets(repo.settings, repo.topic, 2)
    assert sum(c or 0 for c in committed) == len(workload.messages)
