"""What one monitoring run found, as plain data shared by the CLI, the API, metrics and alerts.

A run is computed once (`featurebank monitor run`, or the periodic job in `serve`) and persisted as
JSON under `<data_dir>/monitoring/runs/`, so every API replica, the UI and the alerting path read
the same verdicts instead of recomputing them. The shapes here are the contract between the parts
that compute a run and the parts that surface it; change them in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

BreachKind = Literal["drift", "consistency", "freshness", "null_rate"]


@dataclass(frozen=True)
class Histogram:
    """Bins fixed by the reference: numeric edges (len(edges) == len(counts) + 1) or categories."""

    counts: list[int]
    edges: list[float] | None = None
    categories: list[str] | None = None


@dataclass(frozen=True)
class FeatureDrift:
    view: str
    feature: str
    psi: float | None
    js: float | None
    null_rate_reference: float | None
    null_rate_current: float | None
    rows_reference: int
    rows_current: int
    reference: Histogram | None = None
    current: Histogram | None = None


@dataclass(frozen=True)
class MismatchExample:
    join_key: dict[str, object]
    request_time: str
    served: object
    recomputed: object


@dataclass(frozen=True)
class FeatureConsistency:
    view: str
    feature: str
    rows: int
    matched: int
    missing: int
    """Served a value, but offline history has none at that time."""
    extra: int
    """Offline history has a value, but none was served (NOT_FOUND or null)."""
    smape: float | None
    examples: list[MismatchExample] = field(default_factory=list)

    @property
    def match_rate(self) -> float | None:
        return self.matched / self.rows if self.rows else None


@dataclass(frozen=True)
class ViewFreshness:
    """How stale a view's values were, judged against its SLA (`threshold_s`).

    With served values in the window (`basis` "served"), each lookup's age is its request time
    minus the event time of the value it got: the staleness the model saw. `age_s` is then the
    95th percentile of those ages, the number the SLA is judged on, so one early lookup in a
    long window cannot make a fresh view look stale, nor a burst of stale answers hide behind a
    window that ended right after them. Without served values (`basis` "written"), `age_s` is
    the run time minus the newest event time written online (the Redis watermark).
    """

    view: str
    newest_event: str | None
    """ISO-8601 UTC event time of the newest value served (or written, when nothing was served)."""
    age_s: float | None
    """The age judged against `threshold_s`: p95 of served ages, else now - newest written."""
    threshold_s: float
    basis: str | None = None
    """'served', 'written', or None (nothing known; also runs saved before this field)."""
    served_lookups: int | None = None
    """Lookups in the window that were served a PRESENT value of the view."""
    age_p95_s: float | None = None
    """95th percentile of (request time - event time) over those lookups."""
    age_last_s: float | None = None
    """(request time - event time) at the most recent of those lookups."""
    last_lookup: str | None = None
    """ISO-8601 UTC request time of the most recent of those lookups."""


@dataclass(frozen=True)
class Breach:
    """One threshold crossed; `key` identifies it across runs, so alerts are deduplicated."""

    kind: BreachKind
    view: str
    feature: str | None
    metric: str
    value: float
    threshold: float
    message: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.view}:{self.feature or '*'}:{self.metric}"


@dataclass(frozen=True)
class MonitorReport:
    run_id: str
    generated_at: str
    window_start: str
    window_end: str
    reference: str
    """What drift was measured against, e.g. 'training-set:<id>' or 'history:<start>/<end>'."""
    drift: list[FeatureDrift] = field(default_factory=list)
    consistency: list[FeatureConsistency] = field(default_factory=list)
    freshness: list[ViewFreshness] = field(default_factory=list)
    breaches: list[Breach] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def iso(moment: datetime) -> str:
    """The one text form of times in reports: UTC, whole seconds, 'Z'. Naive times are refused."""
    if moment.tzinfo is None:
        raise ValueError("monitoring times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
