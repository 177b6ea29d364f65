"""The demo's clock: every timestamp is derived from one anchor, so a given `now` is reproducible.

Times are int64 microseconds since the epoch (UTC) inside the generator, which is what the Parquet
columns (`timestamp[us, tz=UTC]`) store and what numpy can do arithmetic on without copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR

# Stream and push history covers the last day: older live events have no use online and the
# batch views already hold the long history.
STREAM_HISTORY_HOURS = 24

Micros = npt.NDArray[np.int64]


def floor_hour(moment: datetime) -> datetime:
    """`moment` in UTC with minutes and below dropped."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def to_micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Timeline:
    """`days` of history whose newest hourly and daily rows sit exactly at `end`.

    `end` is `now` floored to the hour, so the newest values are minutes old and inside every
    view's TTL when the demo is served. `now` also caps `created`: no row claims to have been
    written after the moment the data is generated for.
    """

    now: datetime
    days: int

    @classmethod
    def ending_at(cls, now: datetime | None, days: int) -> Timeline:
        if now is None:
            now = floor_hour(datetime.now(UTC))
        elif now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (UTC event times only)")
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        return cls(now=now.astimezone(UTC), days=days)

    @property
    def end(self) -> datetime:
        return floor_hour(self.now)

    @property
    def end_us(self) -> int:
        return to_micros(self.end)

    @property
    def now_us(self) -> int:
        return to_micros(self.now)

    def hours_of_day(self, day: int) -> Micros:
        """The 24 hourly timestamps of day `day` (0 = oldest); the last day ends at `end`."""
        first = self.end_us - (self.days * 24 - 1) * US_PER_HOUR + day * US_PER_DAY
        return first + np.arange(24, dtype=np.int64) * US_PER_HOUR

    def snapshot(self, days_ago: int) -> int:
        """Timestamp of a daily (or weekly) snapshot taken `days_ago` days before `end`."""
        return self.end_us - days_ago * US_PER_DAY

    @property
    def stream_hours(self) -> int:
        return min(STREAM_HISTORY_HOURS, self.days * 24)

    @property
    def stream_start_us(self) -> int:
        return self.end_us - self.stream_hours * US_PER_HOUR


def hour_of_day(micros: Micros) -> npt.NDArray[np.int64]:
    return (micros // US_PER_HOUR) % 24
