"""The writer: a flush bigger than one conversion step still lands as one complete file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from featurebank.monitoring import log_layout
from featurebank.monitoring.serving_log import ServingLog
from tests.unit.monitoring.test_serving_log_arrow import T1, response, served


def test_a_large_flush_is_one_file_with_every_row(tmp_path: Path) -> None:
    log = ServingLog(tmp_path, sample_rate=1.0, queue_rows=10**6, flush_s=3600, flush_rows=10**6)
    ids = list(range(100))
    for request in range(40):  # 40 x 50 sampled rows: several conversion steps
        answer = response(ids, np.arange(100, dtype=np.float64) + request, list(range(100)),
                          ["t"] * 100, ["PRESENT"] * 100, [T1] * 100)
        log._queue.append(served(ids, answer, list(range(0, 100, 2)), f"r{request}"))
    log.close()
    files = list(log_layout.log_root(tmp_path).rglob("*.parquet"))
    assert len(files) == 1
    table = pq.read_table(files[0])
    assert table.num_rows == 2000
    assert table.column("stats__spend").to_pylist()[-1] == 98.0 + 39
    assert log.counters.written == 2000
