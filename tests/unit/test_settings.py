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


@pytest.mark.parametrize(("url", "expected"), [
    ("unix:///run/redis.sock", "127.0.0.1:6379,unix_socket_path=/run/redis.sock"),
    ("unix://:pw@/run/redis.sock?db=2", "127.0.0.1:6379,db=2,password=pw,"
                                         "unix_socket_path=/run/redis.sock"),
    ("redis://cache:6380/1?db=4", "cache:6380,db=4"),  # redis-py lets the query win too
])
def test_unix_socket_and_query_db_reach_feast(url: str, expected: str) -> None:
    """Feast builds `Redis(host, port, **options)`: a socket has to travel as an option."""
    assert redis_url_to_feast(url) == expected


@pytest.mark.parametrize(("url", "needle"), [
    ("redis://cache:abc/0", "port must be a number from 1 to 65535, got 'abc'"),
    ("redis://cache:99999/0", "got '99999'"),
    ("redis://cache:0/0", "got '0'"),
    ("redis://cache:6379/x", "database must be a whole number, got 'x'"),
    ("redis://cache:6379/0/1", "got '0/1'"),
    ("redis://cache:6379?db=two", "got 'two'"),
    ("unix://relative/redis.sock", "got host 'relative'"),
    ("unix://", "absolute socket path"),
    ("unix:///tmp/a,b.sock", "must not contain ','"),
    ("redis://user:p,w@cache/0", "password must not contain ','"),
    ("localhost:6379", "got scheme 'localhost'"),
])
def test_malformed_redis_url_names_the_bad_part(monkeypatch: pytest.MonkeyPatch, url: str,
                                                needle: str) -> None:
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(caught.value)
    assert "REDIS_URL" in message
    assert needle in message


def test_redis_url_errors_do_not_echo_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "http://user:hunter2-secret@cache:6379/0")
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = caught.value.errors()[0]["msg"]  # what the CLI prints
    assert "REDIS_URL" in message
    assert "hunter2-secret" not in message
