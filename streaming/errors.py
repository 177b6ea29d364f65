"""Why a message was refused: a reason code (metrics label, DLQ header) and a message.

Reason codes are a closed set so dashboards and DLQ consumers can switch on them:

    oversize            the message is larger than the limit
    invalid_utf8        the bytes are not UTF-8
    invalid_json        not JSON, or JSON that is not an object
    missing_join_key    a join key is absent or null
    missing_timestamp   the event-time field is absent or null
    wrong_type          a value has the wrong JSON type for its column
    lossy_cast          a value would change when cast (1.5 into an integer, out of range)
    nan_forbidden       NaN or infinity in a column whose type cannot hold it
    bad_timestamp       the event time cannot be parsed
    timestamp_too_old   the event time is before 1970
    timestamp_in_future the event time is later than now + the allowed skew
    transform_failed    the view's transformation raised on this row
    write_failed        the online store refused this row for good (not an outage: a value
                        the view cannot hold, a Redis key of another type), see sinks/redis;
                        or the history write did (a value that does not fit the type the
                        existing history files give its column), see sinks/parquet
"""

from __future__ import annotations

from featurebank.errors import InvalidInput

REASONS = (
    "oversize", "invalid_utf8", "invalid_json", "missing_join_key", "missing_timestamp",
    "wrong_type", "lossy_cast", "nan_forbidden", "bad_timestamp", "timestamp_too_old",
    "timestamp_in_future", "transform_failed", "write_failed",
)


class Rejected(InvalidInput):
    """One message (or pushed row) broke the source's contract."""

    def __init__(self, reason: str, message: str, *, column: str | None = None) -> None:
        super().__init__(message, detail={"reason": reason, "column": column})
        self.reason = reason
        self.column = column
