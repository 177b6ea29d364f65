"""Crashes, shutdowns, outages and scale-out leave the same exact result."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import committed_offsets, produce, start_cli_processor
from stream_support import assert_exact, history_rows, make_workload, wait_until

from tests.support.services import redis_server

pytestmark = pytest.mark.slow


def test_kill_9_mid_stream_then_restart(stream_repo_factory: Any, redis_url: str,
                                        tmp_path: Path) -> None:
    repo = stream_repo_factory(partitions=2)
    workload = make_workload(20_000, 1_000, seed=11)
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, workload.encoded())

    # History is written every 2,000 rows of a partition, so some is on disk when the kill
    # comes and some is still buffered (its offsets uncommitted): the restart must redo
    # exactly the buffered part, rewriting any file written after the last commit.
    first = start_cli_processor(repo.settings, tmp_path, "--max-poll-records", "500",
                                "--offline-flush-rows", "2000")
    try:
        wait_until(lambda: len(history_rows(repo.history_dir())) > 2_000, 60, "some progress")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert len(history_rows(repo.history_dir())) < len(workload.messages), "killed too late"

    second = start_cli_processor(repo.settings, tmp_path)
    try:
        assert_exact(repo, workload, redis_url)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
    finally:
        if second.poll() is None:
            second.kill()


def test_sigterm_finishes_and_commits(stream_repo_factory: Any, redis_url: str,
                                      tmp_path: Path) -> None:
    repo = stream_repo_factory()
    workload = make_workload(5_000, 300, seed=5)
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, workload.encoded())
    # History waits for 1,000 rows (never for time), so rows are still buffered at the stop.
    first = start_cli_processor(repo.settings, tmp_path, "--max-poll-records", "300",
                                "--offline-flush-rows", "1000", "--offline-flush-s", "3600")
    wait_until(lambda: len(history_rows(repo.history_dir())) > 0, 60, "some progress")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0
    rows_at_stop = len(history_rows(repo.history_dir()))
    # Everything consumed was written and committed, and nothing past what was written.
    assert committed_offsets(repo.settings, repo.topic, 1) == [rows_at_stop]
    second = start_cli_processor(repo.settings, tmp_path)
    try:
        assert_exact(repo, workload, redis_url)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            assert second.wait(timeout=60) == 0
        except subprocess.TimeoutExpired:
            second.kill()
            raise
    assert rows_at_stop > 0


def test_two_processors_split_partitions(stream_repo_factory: Any, redis_url: str) -> None:
    repo = stream_repo_factory(partitions=4)
    workload = make_workload(20_000, 1_000, seed=3)
    one = repo.start_processor()
    two = repo.start_processor()
    produce(repo.settings.kafka_bootstrap_servers, repo.topic, workload.encoded())
    assert_exact(repo, workload, redis_url)
    assert one.metrics.totals["in", repo.topic] > 0
    assert two.metrics.totals["in", repo.topic] > 0


def test_redis_outage_pauses_then_resumes_without_loss(
    stream_repo_factory: Any, tmp_path: Path,
) -> None:
    with redis_server(tmp_path) as (url, _port):
        repo = stream_repo_factory()
        repo.settings = repo.settings.model_copy(update={"redis_url": url})
        admin = redis.Redis.from_url(url)
        workload = make_workload(5_000, 300, seed=9)
        produce(repo.settings.kafka_bootstrap_servers, repo.topic, workload.encoded())

        # Refuse every new connection: Redis is "down" for the processor, data is kept.
        admin.config_set("requirepass", "outage")
        processor = repo.start_processor()
        wait_until(lambda: processor.metrics.totals["in", repo.topic] > 0, 30, "a batch")
        wait_until(lambda: processor.metrics.totals["retry", "redis"] >= 2, 30,
                   "retries against Redis")
        assert history_rows(repo.history_dir()) == []  # nothing past the failed online write

        admin.config_set("requirepass", "")
        assert_exact(repo, workload, url)
        admin.close()
