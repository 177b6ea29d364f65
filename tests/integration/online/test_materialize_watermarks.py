"""`materialize` advances each view's freshness watermark, as the stream processor and push do."""

from __future__ import annotations

from datetime import datetime

import pyarrow.parquet as pq
import pytest
import redis

from featurebank.freshness import read_watermarks_sync
from featurebank.materialize import materialize
from tests.integration.online.conftest import SampleRepo

pytestmark = pytest.mark.integration


def test_materialized_views_get_the_newest_event_time_as_watermark(
        sample_repo: SampleRepo, redis_client: redis.Redis) -> None:
    project = sample_repo.definitions.project
    redis_client.delete(f"featurebank:freshness:{project}")
    reports = materialize(sample_repo.definitions, redis_client)
    watermarks = read_watermarks_sync(redis_client, project)
    data = sample_repo.settings.data_path
    newest_account = max(pq.read_table(data / "account.parquet").column("ts").to_pylist())
    anchor = sample_repo.facts["anchor"]
    assert isinstance(anchor, datetime)
    written = {r.view for r in reports if r.written}
    assert written, reports
    assert set(watermarks) == written
    assert watermarks["region_stats"] == pytest.approx(anchor.timestamp())
    assert watermarks["account_stats"] == pytest.approx(newest_account.timestamp())
