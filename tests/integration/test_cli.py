"""The CLI as a user runs it: real repo, real Redis, errors that name the bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from featurebank.cli.main import app
from tests.integration.online.conftest import SampleRepo
from tests.integration.online.conftest import sample_repo as sample_repo

runner = CliRunner()


def env_for(sample: SampleRepo) -> dict[str, str]:
    return {"FEATUREBANK_REPO": str(sample.settings.repo_path),
            "FEATUREBANK_DATA_DIR": str(sample.settings.data_path),
            "REDIS_URL": sample.settings.redis_url}


def test_materialize_writes_and_reports(sample_repo: SampleRepo,
                                        redis_client: redis.Redis) -> None:
    result = runner.invoke(app, ["materialize", "--views", "region_stats"],
                           env=env_for(sample_repo))
    assert result.exit_code == 0, result.output
    assert "region_stats: 4 entities" in result.output
    view = sample_repo.definitions.views["region_stats"]
    assert redis_client.hget(view.codec.key(["wést"]), view.ts_field) is not None


@pytest.mark.parametrize(("args", "needle"), [
    (["materialize", "--views", "no_such_view"], "no_such_view"),
    (["materialize", "--start", "yesterday"], "yesterday"),
    (["materialize", "--start", "2030-01-02", "--end", "2030-01-01"], "after"),
])
def test_bad_arguments_name_the_value_and_write_nothing(sample_repo: SampleRepo,
                                                        redis_client: redis.Redis,
                                                        args: list[str], needle: str) -> None:
    before = redis_client.dbsize()
    result = runner.invoke(app, args, env=env_for(sample_repo))
    assert result.exit_code == 2
    assert needle in result.output
    assert redis_client.dbsize() == before


def test_redis_down_is_reported_with_the_fix(sample_repo: SampleRepo) -> None:
    env = {**env_for(sample_repo), "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = runner.invoke(app, ["materialize"], env=env)
    assert result.exit_code == 1
    assert "REDIS_URL" in result.output


def test_bad_setting_is_named(sample_repo: SampleRepo) -> None:
    result = runner.invoke(app, ["materialize"],
                           env={**env_for(sample_repo), "REDIS_URL": "mysql://x"})
    assert result.exit_code == 2
    assert "REDIS_URL" in result.output


def test_missing_repo_says_what_to_set(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["apply"], env={"FEATUREBANK_REPO": str(tmp_path / "none"),
                                                "FEATUREBANK_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert "FEATUREBANK_REPO" in result.output


def test_doctor_lists_checks(sample_repo: SampleRepo) -> None:
    result = runner.invoke(app, ["doctor"], env=env_for(sample_repo))
    assert "redis" in result.output
    assert "feast repo" in result.output


BAD_PORT = "error: bad configuration: REDIS_URL port must be a number from 1 to 65535, got 'abc'"


@pytest.mark.parametrize("args", [
    ["materialize"], ["serve"], ["up"], ["doctor"], ["apply"], ["plan"],
    ["training-set", "--out", "never.parquet"],
])
def test_malformed_redis_url_is_one_line_for_every_command(tmp_path: Path,
                                                           args: list[str]) -> None:
    env = {"REDIS_URL": "redis://cache:abc/0", "FEATUREBANK_DATA_DIR": str(tmp_path)}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [BAD_PORT]
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


@pytest.mark.slow
def test_malformed_redis_url_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    """`stream` installs signal handlers first, so it runs as its own process here."""
    env = {**os.environ, "REDIS_URL": "redis://cache:6379/zero",
           "FEATUREBANK_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "featurebank.cli.main", "stream"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: bad configuration: REDIS_URL database must be a whole number, got 'zero'"]


@pytest.mark.parametrize(("env", "args", "expected"), [
    # Rich turned ":secret:" into an emoji, so the advice showed the wrong form.
    ({"FEATUREBANK_API_KEYS": "bad"}, ["doctor"],
     "error: bad configuration: FEATUREBANK_API_KEYS entry #1 must look like "
     "'name:secret:read+write'"),
    # A flag's value is text, not markup: "[/x]" made rich raise instead of the one-line error.
    ({}, ["materialize", "--start", "[/x]:smile:"],
     "error: --start '[/x]:smile:' is not an ISO-8601 time (e.g. 2024-05-01T00:00:00Z)"),
])
def test_errors_print_user_text_verbatim(tmp_path: Path, env: dict[str, str], args: list[str],
                                         expected: str) -> None:
    result = runner.invoke(app, args, env={"FEATUREBANK_DATA_DIR": str(tmp_path), **env})
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [expected]


@pytest.mark.parametrize("text", ["project: [oops\n", "", "provider: local\n"])
@pytest.mark.parametrize("args", [["apply"], ["plan"], ["materialize"], ["serve"]])
def test_broken_feature_store_yaml_is_one_line_naming_the_file(
        tmp_path: Path, text: str, args: list[str]) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "feature_store.yaml").write_text(text)
    result = runner.invoke(app, args, env={"FEATUREBANK_REPO": str(repo),
                                           "FEATUREBANK_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(
        f"error: {repo / 'feature_store.yaml'} is not a valid Feast configuration: ")
