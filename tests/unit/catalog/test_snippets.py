"""The entity row behind the UI's snippets, and the snippets' text."""

from __future__ import annotations

from pathlib import Path

from featurebank.catalog.snippets import (
    combine,
    curl_lookup,
    fill,
    python_read_files,
    python_training_set,
)


def entry(time: str, **key: object) -> dict[str, object]:
    return {"key": key, "time": time}


def test_one_row_matches_every_view_within_its_ttl() -> None:
    # newest first; only account 2 has a row in both views, and only at times an hour apart
    accounts = ("accounts", [entry("2026-01-02T10:00:00Z", account=1),
                             entry("2026-01-02T09:00:00Z", account=2)], 7200.0)
    orders = ("orders", [entry("2026-01-02T11:00:00Z", account=3),
                         entry("2026-01-02T10:00:00Z", account=2, shop="s1")], 3600.0)
    sample = combine([accounts, orders])
    assert sample.values == {"account": 2, "shop": "s1"}
    assert sample.at == "2026-01-02T10:00:00Z"  # the newer of the two rows, as written
    assert sample.gaps == []
    assert sample.from_history


def test_a_view_no_time_can_cover_is_named() -> None:
    recent = ("recent", [entry("2026-01-05T00:00:00Z", account=1)], 3600.0)
    old = ("old", [entry("2026-01-01T00:00:00Z", product=9)], 3600.0)
    sample = combine([recent, old])
    assert sample.at == "2026-01-05T00:00:00Z"
    assert sample.gaps == ["old"]


def test_prefers_keys_still_fresh_online() -> None:
    live = ("live", [entry("2026-01-05T00:00:00Z", account=1),
                     entry("2026-01-04T00:00:00Z", account=2)], 600.0)
    profile = ("profile", [entry("2026-01-04T00:00:00Z", account=2),
                           entry("2026-01-03T00:00:00Z", account=1)], None)
    now = 1767571500.0  # 2026-01-05T00:05:00Z: only account 1's live row is within 10 minutes
    assert combine([live, profile], now).values == {"account": 1}


def test_no_history_gives_placeholders_of_the_right_type() -> None:
    sample = combine([("empty", [], None)])
    assert not sample.from_history
    assert fill(sample, {"account": "INT64", "amount": "Float64", "name": "String"}) == {
        "account": [1], "amount": [1.0], "name": ["example"]}


def test_snippet_text() -> None:
    entities = {"account": [2]}
    open_reads = curl_lookup("http://h", {"features": ["v:f"]}, entities, read_key=False)
    assert "X-API-Key" not in open_reads
    closed = curl_lookup("http://h", {"feature_service": "s"}, entities, read_key=True)
    assert '-H "X-API-Key: $FEATUREBANK_API_KEY"' in closed
    assert '"feature_service":"s"' in closed
    code = python_training_set("http://h", {"features": ["v:f"], "full_feature_names": True},
                               entities, "2026-01-02T10:00:00Z")
    assert "api_key=os.environ['FEATUREBANK_API_KEY']" in code
    assert "pd.to_datetime(['2026-01-02T10:00:00Z'], utc=True)" in code
    assert "full_feature_names=True" in code
    compile(code, "<snippet>", "exec")


def test_file_read_runs_on_a_directory_and_quotes_an_odd_time_column(tmp_path: Path) -> None:
    import pandas as pd

    data = tmp_path / "history" / "day=1"
    data.mkdir(parents=True)
    pd.DataFrame({"k": [1, 2], 'event "at"': [10, 20]}).to_parquet(data / "part.parquet")
    scope: dict[str, object] = {}

    exec(python_read_files(str(tmp_path / "history"), 'event "at"'), scope)

    frame = scope["df"]
    assert isinstance(frame, pd.DataFrame)
    assert frame["k"].tolist() == [2, 1]  # newest first
