"""An applied sample repo with data, shared by the tests of one module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from feast import FeatureStore

from featurebank.definitions import Definitions, load_definitions
from featurebank.feast_repo import apply_repo, open_store
from featurebank.settings import Settings
from tests.support.sample_repo import make_sample_repo, write_sample_data


@dataclass
class SampleRepo:
    settings: Settings
    store: FeatureStore
    definitions: Definitions
    facts: dict[str, Any]


@pytest.fixture(scope="module")
def sample_repo(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> SampleRepo:
    root = tmp_path_factory.mktemp("sample")
    repo = make_sample_repo(root, "s" + uuid.uuid4().hex[:10])
    settings = Settings(_env_file=None, FEATUREBANK_REPO=str(repo),  # type: ignore[call-arg]
                        FEATUREBANK_DATA_DIR=str(root / "data"), REDIS_URL=redis_url,
                        FEATUREBANK_REGISTRY_REFRESH_S=0)
    facts = write_sample_data(settings.data_path)
    apply_repo(settings)
    store = open_store(settings)
    return SampleRepo(settings, store, load_definitions(store), facts)
