"""The skipped-views report as `/health` reads it back."""

from __future__ import annotations

from streaming.status import parse_skipped, skipped_key


def test_report_is_read_back_sorted_and_junk_is_shown_as_text() -> None:
    raw = {b"b_view": b'{"reason": "sum cannot take a string column", "at": 1.5}',
           b"a_view": b"not json"}
    assert parse_skipped(raw) == {
        "a_view": {"reason": "not json"},
        "b_view": {"reason": "sum cannot take a string column", "at": 1.5},
    }
    assert skipped_key("shop") == "featurebank:stream:skipped:shop"
