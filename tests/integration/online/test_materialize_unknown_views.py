"""`featurebank materialize --views` names every unknown view at once (issue 8, item 4)."""

from __future__ import annotations

import pytest

from featurebank.errors import UnknownName
from featurebank.materialize import select_views
from tests.integration.online.conftest import SampleRepo

pytestmark = pytest.mark.integration


def test_every_unknown_view_is_named_with_close_matches(sample_repo: SampleRepo) -> None:
    with pytest.raises(UnknownName) as caught:
        select_views(sample_repo.definitions, ["acount_stats", "region_stats", "regoin_stats"])
    assert caught.value.names == ["acount_stats", "regoin_stats"]
    assert caught.value.detail["suggestions"] == {"acount_stats": ["account_stats"],
                                                  "regoin_stats": ["region_stats"]}
