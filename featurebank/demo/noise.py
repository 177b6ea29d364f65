"""The untidy parts of real feature data, applied to generated columns.

Pipelines write rows minutes after the fact and sometimes hours late; jobs get re-run and issue a
corrected row for an event time that already has one; streams redeliver. A feature store has to
cope with all of it (Feast keeps the row with the latest `created` per entity and event time),
so the demo data contains it on purpose. Missing values are added later, by `tables.to_table`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from featurebank.demo.timeline import US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND

Columns = dict[str, npt.NDArray[np.generic]]

EVENT = "event_timestamp"
CREATED = "created"


@dataclass(frozen=True)
class Lateness:
    """How a pipeline's rows trail their event time, and how often it re-issues a row."""

    lag_us: tuple[int, int]  # usual delay between the event and the row being written
    late_share: float  # share of rows delayed by a further `late_us`
    late_us: tuple[int, int]
    reissue_share: float  # share of rows written again for the same entity and event time
    reissue_delay_us: tuple[int, int]  # how much later the re-issued row is written
    jitter: float  # how far a re-issued float may move (0: an exact redelivery)

    @property
    def worst_delay_us(self) -> int:
        return self.lag_us[1] + self.late_us[1] + self.reissue_delay_us[1]


HOURLY_JOB = Lateness(
    lag_us=(5 * US_PER_MINUTE, 25 * US_PER_MINUTE),
    late_share=0.03,
    late_us=(1 * US_PER_HOUR, 6 * US_PER_HOUR),
    reissue_share=0.005,
    reissue_delay_us=(30 * US_PER_MINUTE, 3 * US_PER_HOUR),
    jitter=0.03,
)
NIGHTLY_JOB = Lateness(
    lag_us=(90 * US_PER_MINUTE, 4 * US_PER_HOUR),
    late_share=0.03,
    late_us=(6 * US_PER_HOUR, 20 * US_PER_HOUR),
    reissue_share=0.005,
    reissue_delay_us=(1 * US_PER_HOUR, 6 * US_PER_HOUR),
    jitter=0.02,
)
STREAM = Lateness(
    lag_us=(50_000, 2 * US_PER_SECOND),
    late_share=0.01,
    late_us=(1 * US_PER_MINUTE, 20 * US_PER_MINUTE),
    reissue_share=0.003,
    reissue_delay_us=(1 * US_PER_SECOND, 30 * US_PER_SECOND),
    jitter=0.0,
)


def written(
    rng: np.random.Generator,
    columns: Columns,
    lateness: Lateness,
    *,
    keys: tuple[str, ...],
    end_us: int,
    now_us: int,
) -> Columns:
    """Sort rows into event order, add `created`, then append the re-issued rows after them.

    `created` never precedes its event and never passes `now_us`; only events old enough that
    every delay fits before `end_us` are re-issued, so a copy is always strictly newer than its
    original and Feast's de-duplication has exactly one winner.
    """
    ordered = _in_event_order(columns, keys)
    event = np.asarray(ordered[EVENT], dtype=np.int64)
    n = len(event)
    lag = rng.integers(*lateness.lag_us, n, dtype=np.int64)
    late = rng.random(n) < lateness.late_share
    lag += np.where(late, rng.integers(*lateness.late_us, n, dtype=np.int64), 0)
    ordered[CREATED] = np.maximum(event, np.minimum(event + lag, now_us))
    return _with_reissues(rng, ordered, lateness, newest_event_us=end_us - lateness.worst_delay_us)


def _in_event_order(columns: Columns, keys: tuple[str, ...]) -> Columns:
    # np.lexsort sorts by its last key first.
    order = np.lexsort((*(columns[k] for k in reversed(keys)), columns[EVENT]))
    return {name: values[order] for name, values in columns.items()}


def _with_reissues(
    rng: np.random.Generator, columns: Columns, lateness: Lateness, *, newest_event_us: int
) -> Columns:
    eligible = np.flatnonzero(np.asarray(columns[EVENT], dtype=np.int64) <= newest_event_us)
    count = min(round(len(columns[EVENT]) * lateness.reissue_share), len(eligible))
    if count == 0:
        return columns
    picked = np.sort(rng.choice(eligible, size=count, replace=False))
    out: Columns = {}
    for name, values in columns.items():
        copy = values[picked]
        if name == CREATED:
            copy = copy + rng.integers(*lateness.reissue_delay_us, count, dtype=np.int64)
        elif lateness.jitter and values.dtype.kind == "f":
            # A corrected value, kept inside the column's range so rates stay in [0, 1].
            moved = copy * (1.0 + rng.uniform(-lateness.jitter, lateness.jitter, count))
            copy = np.clip(moved, np.min(values), np.max(values)).astype(values.dtype)
        out[name] = np.concatenate([values, copy])
    return out
