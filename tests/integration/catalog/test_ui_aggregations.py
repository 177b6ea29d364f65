"""The catalog of a stream view with windowed aggregations says what a lookup can return.

Online such a view serves only its aggregations (processor and materialize write nothing else);
its other schema fields are the raw event columns of its history. The view, service and entity
pages used to list them as features and put them in the curl lookup, which answered NOT_FOUND.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from featurebank.definitions import load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.materialize import materialize
from featurebank.settings import Settings
from server.app import create_app
from tests.integration.online.test_materialize_windows import DEFINITIONS, write_events
from tests.support.repos import write_repo

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings(
    "ignore:Stream feature views are experimental:RuntimeWarning")]

SERVICE = '''
from feast import FeatureService
shelf_board = FeatureService(name="shelf_board", features=[shelf_scans])
'''
SNIPPET = re.compile(r'<pre class="snippet" data-lang="curl"[^>]*><code>(.*?)</code></pre>', re.S)


@pytest.fixture
def client(settings_factory: Callable[..., Settings], tmp_path: Path, unique_name: str,
           redis_client: redis.Redis) -> Iterator[TestClient]:
    settings = settings_factory(write_repo(tmp_path, unique_name, DEFINITIONS + SERVICE))
    write_events(settings)
    apply_repo(settings)
    materialize(load_definitions(open_store(settings)), redis_client)
    with TestClient(create_app(settings)) as api:
        yield api


def lookup_of(client: TestClient, page: str) -> tuple[str, dict[str, object]]:
    """The page's text and what its curl lookup answers (its JSON body posted as shown)."""
    text = client.get(page).text
    curl = html.unescape(SNIPPET.findall(text)[0])
    body = json.loads(shlex.split(curl.replace("\\\n", " "))[-1])
    reply = client.post("/get-online-features", json=body)
    assert reply.status_code == 200, reply.text
    answer: dict[str, object] = reply.json()
    return text, answer


@pytest.mark.parametrize("page", ["/ui/feature-views/shelf_scans",
                                  "/ui/feature-services/shelf_board", "/ui/entities/shelf"])
def test_lookup_snippets_ask_only_for_served_features(client: TestClient, page: str) -> None:
    text, answer = lookup_of(client, page)

    results = answer["results"]
    assert isinstance(results, list)
    statuses = [s for r in results for s in r["statuses"]]
    assert statuses, answer
    assert set(statuses) == {"PRESENT"}, answer
    assert "secs" not in json.dumps(answer["metadata"]).replace("_secs_", "")
    if page != "/ui/entities/shelf":  # an entity page lists only what a lookup returns
        assert 'id="snippet-offline-only"' in text


def test_view_page_and_api_say_which_features_are_served(client: TestClient) -> None:
    body = client.get("/catalog/feature-views/shelf_scans").json()
    served = {f["name"]: f["served"] for f in body["features"]}
    assert served == {"secs": False, "sum_secs_3600s": True, "count_secs_10800s": True}
    assert body["offline_only"] == ["secs"]
    page = client.get("/ui/feature-views/shelf_scans").text
    listed = re.search(r'id="served-online">(.*?)</p>', page, re.S)
    assert listed is not None
    assert "Offline only" in listed.group(1)
    assert "<code>secs</code>." in listed.group(1)
    unused = client.get("/catalog/unused", params={"days": 1}).json()
    assert "shelf_scans:secs" not in {f["feature"] for f in unused["features"]}
    hits = client.get("/catalog/search", params={"q": "secs"}).json()["hits"]
    raw = next(h for h in hits if h["name"] == "shelf_scans:secs")
    assert "offline only" in raw["description"]
