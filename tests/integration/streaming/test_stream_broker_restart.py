"""An in-memory broker restarted under the same data dir: earlier history is never replaced.

After a restart the topic is new and its offsets begin at 0 again, so history files named by
offsets alone collided with the earlier run's and were deleted as "uncommitted".
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import STREAM_DEFINITIONS, StreamRepo, create_topic, produce
from stream_support import history_rows, make_workload, wait_until

from featurebank.feast_repo import apply_repo
from featurebank.offline.writer import offset_parts
from featurebank.settings import Settings
from tests.support.broker import private_broker
from tests.support.repos import write_repo
from tests.support.services import free_port

pytestmark = pytest.mark.slow


def test_broker_restart_keeps_the_history_of_the_earlier_run(
    tmp_path: Path, unique_name: str, settings_factory: Callable[..., Settings],
) -> None:
    port = free_port()
    topic = f"{unique_name}.readings"
    repo_path = write_repo(tmp_path, unique_name, STREAM_DEFINITIONS.format(topic=topic, extra=""))
    first_run = make_workload(400, 50, seed=21)
    second_run = make_workload(300, 50, seed=22)
    expected: collections.Counter[tuple[int, int]] = collections.Counter()
    repo: StreamRepo | None = None
    for run, workload in enumerate((first_run, second_run)):
        with private_broker(tmp_path / f"tansu{run}", port) as bootstrap:
            create_topic(bootstrap, topic)
            settings = settings_factory(
                repo_path, KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                FEATUREBANK_CONSUMER_GROUP=f"{unique_name}-group", FEATUREBANK_MAX_EVENT_SKEW_S=300)
            if repo is None:
                apply_repo(settings)
                repo = StreamRepo(settings, topic, repo_path, unique_name)
            repo.settings = settings
            processor = repo.start_processor(offline_flush_s=0.5)
            produce(bootstrap, topic, workload.encoded())
            expected.update((m["device_id"], m["event_ts"]) for m in workload.messages)

            def complete(want: Any = expected, directory: Path = repo.history_dir()) -> bool:
                return collections.Counter(history_rows(directory)) == want

            try:
                wait_until(complete, 60, f"run {run}'s history beside the earlier runs'")
            finally:
                repo.stop_all()
            assert processor.metrics.totals["in", topic] == len(workload.messages)
    assert repo is not None
    ids = {part.log_id for part in offset_parts(repo.history_dir(), topic)}
    assert len(ids) == 2  # one topic id per broker run
    assert "" not in ids
