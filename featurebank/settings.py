"""The one place the environment is read.

Every process builds a single frozen `Settings` at start-up and passes it down. Feast reads its
own `feature_store.yaml` through `os.path.expandvars`, so `feast_environment()` derives the
variables that file references (Feast's Redis connection string is not a URL) and every process
Feature Bank starts exports them, which keeps `feast` run by hand and our own code on one config.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from featurebank.auth import ApiKey, parse_api_keys
from featurebank.redis_url import feast_connection_string, parse_redis_url

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class Settings(BaseSettings):
    """Configuration shared by the API server, the stream processor and the CLI."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    repo: Path = Field(default=Path("feature_repo"), validation_alias="FEATUREBANK_REPO")
    data_dir: Path = Field(default=Path("data"), validation_alias="FEATUREBANK_DATA_DIR")
    redis_url: str = Field(default=DEFAULT_REDIS_URL, validation_alias="REDIS_URL")
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    port: int = Field(default=8000, ge=1, le=65535, validation_alias="FEATUREBANK_PORT")
    """The API's port for `serve` and `up` when `--port` is not given (`make up PORT=N`)."""
    api_keys: Annotated[tuple[ApiKey, ...], NoDecode] = Field(
        default=(), validation_alias="FEATUREBANK_API_KEYS"
    )
    require_read_key: bool = Field(default=False, validation_alias="FEATUREBANK_REQUIRE_READ_KEY")
    redis_timeout_s: float = Field(
        default=0.5, gt=0, le=30, validation_alias="FEATUREBANK_REDIS_TIMEOUT_S"
    )
    redis_pool_size: int = Field(
        default=32, ge=1, le=1024, validation_alias="FEATUREBANK_REDIS_POOL"
    )
    max_entities_per_request: int = Field(
        default=1000, ge=1, validation_alias="FEATUREBANK_MAX_ENTITIES"
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, validation_alias="FEATUREBANK_MAX_BODY_BYTES"
    )
    max_training_rows: int = Field(
        default=10_000_000, ge=1, validation_alias="FEATUREBANK_MAX_TRAINING_ROWS"
    )
    training_lease_s: float = Field(
        default=30.0, ge=1, le=3600, validation_alias="FEATUREBANK_TRAINING_LEASE_S"
    )
    """How long a training-set job outlives its server's last heartbeat (training/lease.py)."""
    registry_refresh_s: float = Field(
        default=10.0, ge=0, validation_alias="FEATUREBANK_REGISTRY_REFRESH_S"
    )
    max_event_skew_s: float = Field(
        default=300.0, ge=0, validation_alias="FEATUREBANK_MAX_EVENT_SKEW_S"
    )
    consumer_group: str = Field(
        default="featurebank-processor", validation_alias="FEATUREBANK_CONSUMER_GROUP"
    )
    monitor_interval_s: float = Field(
        default=300.0, ge=0, le=86_400, validation_alias="FEATUREBANK_MONITOR_INTERVAL_S"
    )
    """Period of the monitoring job in `serve` (one replica per period); 0 turns it off."""
    alert_webhook_url: str | None = Field(
        default=None, validation_alias="FEATUREBANK_ALERT_WEBHOOK_URL"
    )
    """Where a JSON message per breach (and per resolve) is POSTed; unset sends none."""
    alert_renotify_s: float = Field(
        default=4 * 3600.0, ge=1, validation_alias="FEATUREBANK_ALERT_RENOTIFY_S"
    )
    """A breach still open after this long is sent again (otherwise once per episode)."""
    public_url: str | None = Field(default=None, validation_alias="FEATUREBANK_PUBLIC_URL")
    """The API's address as users reach it, for links in alerts (relative links when unset)."""
    log_sample_rate: float = Field(
        default=0.0, ge=0, le=1, validation_alias="FEATUREBANK_LOG_SAMPLE_RATE"
    )
    """Share of entity keys whose lookups are logged (docs/monitoring.md); a feature service's
    `monitor.log_sample_rate` tag wins. Off by default: logs hold served values, which may be
    personal data, and grow without bound, so a deployment opts in (per service, or here)."""
    log_queue_rows: int = Field(
        default=100_000, ge=1, le=10_000_000, validation_alias="FEATUREBANK_LOG_QUEUE_ROWS"
    )
    """Sampled lookup rows held for the log writer; beyond that, rows are dropped (counted)."""
    log_flush_s: float = Field(
        default=10.0, gt=0, le=3600, validation_alias="FEATUREBANK_LOG_FLUSH_S"
    )
    """The log writer writes what is queued at least this often (one file per log per flush)."""
    log_flush_rows: int = Field(
        default=20_000, ge=1, validation_alias="FEATUREBANK_LOG_FLUSH_ROWS"
    )
    """...or as soon as this many sampled rows are queued (the size of a file's row group)."""

    @field_validator("alert_webhook_url", "public_url", mode="before")
    @classmethod
    def _check_http_url(cls, value: object, info: ValidationInfo) -> object:
        if value is None or value == "":
            return None
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            name = {"alert_webhook_url": "FEATUREBANK_ALERT_WEBHOOK_URL",
                    "public_url": "FEATUREBANK_PUBLIC_URL"}.get(info.field_name or "", "URL")
            raise ValueError(f"{name} must be an http:// or https:// URL with a host, "
                             f"got {value!r}")
        return str(value)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_keys(cls, value: object) -> tuple[ApiKey, ...]:
        if isinstance(value, tuple):
            return value
        if value is None or value == "":
            return ()
        if not isinstance(value, str):
            raise ValueError("FEATUREBANK_API_KEYS must be a string like 'name:secret:read+write'")
        return parse_api_keys(value)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        parse_redis_url(value)  # a bad scheme, port, database or socket path: named here
        return value

    @cached_property
    def repo_path(self) -> Path:
        return self.repo.expanduser().resolve()

    @cached_property
    def data_path(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def feast_redis_connection(self) -> str:
        """Feast's `host:port,db=N,password=…,ssl=true` form of `REDIS_URL`."""
        return redis_url_to_feast(self.redis_url)

    def feast_environment(self) -> dict[str, str]:
        """Variables `feature_store.yaml` and the repo's definitions substitute."""
        return {
            "FEATUREBANK_DATA_DIR": str(self.data_path),
            "FEATUREBANK_REDIS_CONNECTION": self.feast_redis_connection,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "FEATUREBANK_REPO": str(self.repo_path),
            "REDIS_URL": self.redis_url,
        }


def redis_url_to_feast(url: str) -> str:
    """Translate a `REDIS_URL` into Feast's Redis `connection_string` (unix sockets included)."""
    return feast_connection_string(url)
