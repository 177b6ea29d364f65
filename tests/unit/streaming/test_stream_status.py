"""The skipped-views report as `/health` reads it back."""

from __future__ import annotations

from streaming.status import TTL_S, current_history_failures, parse_skipped, skipped_key


def test_report_is_read_back_sorted_and_junk_is_shown_as_text() -> None:
    raw = {b"b_view": b'{"reason": "sum cannot take a string column", "at": 1.5}',
           b"a_view": b"not json"}
    assert parse_skipped(raw) == {
        "a_view": {"reason": "not json"},
        "b_view": {"reason": "sum cannot take a string column", "at": 1.5},
    }
    assert skipped_key("shop") == "featurebank:stream:skipped:shop"


def test_history_failures_older_than_the_ttl_are_not_current() -> None:
    raw = {b"t[0]": b'{"reason": "OSError: [Errno 28] No space left", "at": 1000.0}',
           b"t[1]": b'{"reason": "gone", "at": 900.0}', b"t[2]": b"junk"}
    assert current_history_failures(raw, now=1000.0 + TTL_S) == {
        "t[0]": {"reason": "OSError: [Errno 28] No space left", "at": 1000.0}}
