"""Settings read the environment once and derive Feast's Redis connection string."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from featurebank.settings import Settings, redis_url_to_feast


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6379/0", "127.0.0.1:6379,db=0"),
    ("redis://localhost", "localhost:6379"),
    ("redis://:s3cret@cache:6380/2", "cache:6380,db=2,password=s3cret"),
    ("rediss://user:pw@h:1/3", "h:1,db=3,password=pw,username=user,ssl=true"),
])
def test_feast_connection_string(url: str, expected: str) -> None:
    assert redis_url_to_feast(url) == expected


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:7000/4")
    monkeypatch.setenv("FEATUREBANK_API_KEYS", "svc:abcdefghijklmnop:read")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.feast_environment()["FEATUREBANK_REDIS_CONNECTION"] == "10.0.0.5:7000,db=4"
    assert settings.api_keys[0].name == "svc"


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "http://nope")
    with pytest.raises(ValidationError, match="REDIS_URL"):
        Settings(_env_file=None)  # type: ignore[call-arg]
