"""Training/serving consistency: what was served against what history says it should have been.

For every logged row, the value of each logged feature is recomputed point-in-time at the
request time (`__log_timestamp`) by the training-set join itself (`featurebank.training`):
the same TTL, field_mapping, created-time tie-breaks and windowed aggregations a training set
gets. The served values travel through the join as extra spine columns, so the comparison is
one DuckDB scan of the joined file, never a Python loop over rows.

Per feature (rows = logged rows whose request asked for it):
  matched   both null, or both present and equal (numbers within a relative 1e-6, since the
            online store may keep a FLOAT where history keeps a DOUBLE)
  missing   a value was served but history has none at that time
  extra     history has a value but none was served (NOT_FOUND, OUTSIDE_MAX_AGE or null)
  smape     mean of |a - b| / ((|a| + |b|) / 2) over rows where both are present, in [0, 2]

A value that reached the online store after the request but carries an earlier event time is
counted as a mismatch: history has it "at" the request time, serving did not yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from featurebank.definitions import Definitions
from featurebank.errors import InvalidInput
from featurebank.monitoring import log_layout
from featurebank.monitoring.distributions import NUMERIC_TYPES, FeatureKey
from featurebank.monitoring.report import FeatureConsistency, MismatchExample, iso
from featurebank.monitoring.samples import monitored_features
from featurebank.offline.latest import quote
from featurebank.offline.sources import offline_source
from featurebank.training.engine import retrieve
from featurebank.training.features import select_features

EXAMPLES = 10
"""Mismatches kept per feature, earliest request first."""
RELATIVE_TOLERANCE = 1e-6
SPINE_TS = log_layout.LOG_TIMESTAMP
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class _Logged:
    key: FeatureKey
    numeric: bool
    index: int

    @property
    def served(self) -> str:
        return f"__mon_v{self.index}"

    @property
    def status(self) -> str:
        return f"__mon_st{self.index}"

    @property
    def recomputed(self) -> str:
        return quote(f"{self.key[0]}__{self.key[1]}")


def _logged_features(definitions: Definitions, logs: pa.Table) -> list[_Logged]:
    """Logged scalar features of views whose keys were logged and whose history is Parquet."""
    present = set(logs.column_names)
    found: list[_Logged] = []
    for view_name, feature in monitored_features(definitions):
        view = definitions.views[view_name]
        if (log_layout.value_column(view_name, feature) not in present
                or log_layout.status_column(view_name, feature) not in present):
            continue
        if not view.entityless and not set(view.join_key_names) <= present:
            continue
        try:
            offline_source(view)
        except InvalidInput:
            continue
        numeric = view.features[feature].value_type in NUMERIC_TYPES
        found.append(_Logged((view_name, feature), numeric, len(found)))
    return found


def _spine(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
           logged: list[_Logged]) -> pa.Table:
    keys = sorted({k for item in logged for k in definitions.views[item.key[0]].join_key_names
                   if not definitions.views[item.key[0]].entityless})
    present = int(log_layout.FieldStatus.PRESENT)
    columns = [quote(k) for k in keys] + [f"{quote(SPINE_TS)}"]
    asked = []
    for item in logged:
        value = quote(log_layout.value_column(*item.key))
        status = quote(log_layout.status_column(*item.key))
        columns += [f"CASE WHEN {status} = {present} THEN {value} END AS {item.served}",
                    f"{status} AS {item.status}"]
        asked.append(f"{status} IS NOT NULL")
    sql = (f"SELECT {', '.join(columns)} FROM logs "  # noqa: S608
           f"WHERE {SPINE_TS} IS NOT NULL AND ({' OR '.join(asked)})")
    return connection.execute(sql).to_arrow_table()


def _verdicts(item: _Logged) -> tuple[str, str, str, str]:
    """SQL of (counted, missing, extra, differs) for one feature over the joined file."""
    served, recomputed = item.served, item.recomputed
    if item.numeric:
        a, b = f"CAST({served} AS DOUBLE)", f"CAST({recomputed} AS DOUBLE)"
        same = (f"({a} = {b} OR abs({a} - {b}) <= {RELATIVE_TOLERANCE!r} * "
                f"greatest(abs({a}), abs({b})))")
    else:
        same = f"CAST({served} AS VARCHAR) = CAST({recomputed} AS VARCHAR)"
    counted = f"{item.status} IS NOT NULL"
    missing = f"({counted} AND {served} IS NOT NULL AND {recomputed} IS NULL)"
    extra = f"({counted} AND {served} IS NULL AND {recomputed} IS NOT NULL)"
    differs = (f"({counted} AND {served} IS NOT NULL AND {recomputed} IS NOT NULL "
               f"AND NOT {same})")
    return counted, missing, extra, differs


def _smape(item: _Logged) -> str:
    a, b = f"CAST({item.served} AS DOUBLE)", f"CAST({item.recomputed} AS DOUBLE)"
    both = f"{item.status} IS NOT NULL AND {a} IS NOT NULL AND {b} IS NOT NULL"
    return (f"avg(CASE WHEN {both} THEN CASE WHEN abs({a}) + abs({b}) = 0 THEN 0.0 "
            f"ELSE 2 * abs({a} - {b}) / (abs({a}) + abs({b})) END END)")


def _plain(value: Any) -> object:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _examples(connection: duckdb.DuckDBPyConnection, joined: str, item: _Logged,
              keys: tuple[str, ...], wrong: str) -> list[MismatchExample]:
    picked = [quote(k) for k in keys]
    sql = (f"SELECT {', '.join([*picked, quote(SPINE_TS), item.served, item.recomputed])} "  # noqa: S608
           f"FROM read_parquet($joined) WHERE {wrong} ORDER BY {quote(SPINE_TS)} "
           f"LIMIT {EXAMPLES}")
    examples = []
    for row in connection.execute(sql, {"joined": joined}).fetchall():
        key = {name: _plain(value) for name, value in zip(keys, row, strict=False)}
        moment = row[len(keys)]
        examples.append(MismatchExample(join_key=key, request_time=iso(moment),
                                        served=_plain(row[-2]), recomputed=_plain(row[-1])))
    return examples


def check_consistency(connection: duckdb.DuckDBPyConnection, definitions: Definitions,
                      logs: pa.Table, work: Path, progress: Progress | None = None
                      ) -> list[FeatureConsistency]:
    """Per logged feature, how served values compare with history at request time.

    `logs` (see `log_layout.read_logs`) must be registered on `connection` as `logs`; `work`
    is a scratch directory for the joined file.
    """
    logged = _logged_features(definitions, logs)
    if not logged:
        return []
    spine = _spine(connection, definitions, logged)
    if spine.num_rows == 0:
        return []
    selection = select_features(definitions, full_feature_names=True,
                                features=[f"{v}:{f}" for v, f in (i.key for i in logged)])
    out = work / "consistency.parquet"

    def relay(phase: str, fraction: float) -> None:
        if progress is not None:
            progress("consistency", fraction)

    retrieve(selection, spine, out, timestamp_column=SPINE_TS, progress=relay,
             temp_dir=work / "tmp")
    joined = out.as_posix()
    selects = []
    for item in logged:
        counted_sql, missing_sql, extra_sql, differs_sql = _verdicts(item)
        j = item.index
        selects += [f"count_if({counted_sql}) AS r{j}", f"count_if({missing_sql}) AS m{j}",
                    f"count_if({extra_sql}) AS e{j}", f"count_if({differs_sql}) AS d{j}",
                    f"{_smape(item) if item.numeric else 'NULL'} AS s{j}"]
    cursor = connection.execute(
        f"SELECT {', '.join(selects)} FROM read_parquet($joined)",  # noqa: S608
        {"joined": joined})
    row = cursor.fetchone() or ()
    stats = dict(zip([d[0] for d in cursor.description or []], row, strict=True))
    results = []
    for item in logged:
        j = item.index
        rows, missing, extra, differs = (int(stats[f"{c}{j}"]) for c in "rmed")
        smape = stats[f"s{j}"]
        examples: list[MismatchExample] = []
        if missing or extra or differs:
            _, m_sql, e_sql, d_sql = _verdicts(item)
            view = definitions.views[item.key[0]]
            keys = () if view.entityless else view.join_key_names
            examples = _examples(connection, joined, item, keys, f"{m_sql} OR {e_sql} OR {d_sql}")
        results.append(FeatureConsistency(
            view=item.key[0], feature=item.key[1], rows=rows,
            matched=rows - missing - extra - differs, missing=missing, extra=extra,
            smape=float(smape) if smape is not None else None,
            examples=examples))
    return results
