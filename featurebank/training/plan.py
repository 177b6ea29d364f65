"""The point-in-time join as DuckDB SQL, in three plans chosen per view by size.

Semantics (Feast's): for a spine row with time T, a view contributes the row with the greatest
(event time, created time) whose event time E satisfies E <= T and, when the view has a TTL,
E >= T - ttl (both ends inclusive; ttl 0/None means unlimited). Exact ties on both are broken by
the later file (files are listed sorted, so `file_index` orders them by path), then the later
row in it, so results are deterministic where Feast's are not.

* ASOF plan: each view's rows are first reduced to one per (keys, event time) - the max created
  time wins - then `ASOF LEFT JOIN` picks the latest event <= T and a CASE drops matches older
  than the TTL (if the latest is too old, every earlier one is too). Scales as a sort-merge.
* bucket plan (views with a TTL): a hash equi-join on (keys, TTL-wide time bucket), each spine
  row probing its bucket and the one before; the few candidates are ranked per spine row. No
  sort of the view at all, so it wins while the view is larger than the spine.
* range plan: an inequality join within the TTL window ranked per spine row. It skips the
  dedup pass, which wins on small spines over small views and loses badly as windows fill.

Caller-supplied names stay out of the join itself: the spine's timestamp column is renamed to
`__fb_ts` before registration and outputs are aliased `__fb_o<i>`. Only the final projection
of the direct-to-Parquet form names columns as written, always through `quote`.
"""

from __future__ import annotations

from dataclasses import dataclass

from featurebank.aggregations import SQL_AGGREGATES, SQL_TYPES
from featurebank.offline.latest import quote
from featurebank.training.features import Selection, ViewRead

PLANS = ("asof", "range", "bucket")
WINDOW = "window"
ROW = "__fb_row"
SPINE_TS = "__fb_ts"
BUCKET_MIN_VIEW_PER_SPINE_ROW = 1.0
"""A TTL view joins by bucket when it has at least this many rows per spine row."""
RANGE_MAX_ROWS = 50_000
"""Spines up to this size join a view by range when its window is bounded (see the benchmark)."""
RANGE_MAX_VIEW_ROWS = 1_000_000
"""A view without TTL is still range-joined if it is this small (its window is the whole view)."""


@dataclass(frozen=True)
class JoinQuery:
    sql: str
    params: dict[str, object]
    plan: str
    output_aliases: dict[str, str]
    """`__fb_o<i>` -> output column name (requested and hidden ones)."""


def choose_plans(rows: int, selection: Selection, view_rows: list[int],
                 requested: str = "auto") -> list[str]:
    """A plan per view: a named one, a recorded per-view list, or measured (see `auto_plan`).

    Windowed aggregations always take the `window` plan: they read every event in the window,
    not the latest row.
    """
    if requested in PLANS:
        return [_usable(requested, read) for read in selection.reads]
    if "+" in requested:  # a recorded per-view choice, as a manifest stores it
        plans = requested.split("+")
        if len(plans) == len(selection.reads) and set(plans) <= {*PLANS, WINDOW}:
            return [_usable(p, read) for p, read in zip(plans, selection.reads, strict=True)]
    return [WINDOW if read.windows else auto_plan(rows, read, count)
            for read, count in zip(selection.reads, view_rows, strict=True)]


def _usable(plan: str, read: ViewRead) -> str:
    """Buckets need a TTL (else ASOF); aggregations need the window plan and only they can."""
    if read.windows:
        return WINDOW
    if plan == WINDOW or (plan == "bucket" and read.ttl_seconds is None):
        return "asof"
    return plan


def auto_plan(rows: int, read: ViewRead, view_rows: int) -> str:
    """Measured on 2 cores (docs/benchmarks-training.md).

    A bucket join costs a hash probe per view row plus a build and a rank per spine row; ASOF
    sorts both sides. So a TTL view larger than the spine goes by bucket, a smaller one by ASOF;
    small unbounded views by range while the spine is small (each row sees the whole key).
    """
    if read.ttl_seconds is not None and view_rows >= rows * BUCKET_MIN_VIEW_PER_SPINE_ROW:
        return "bucket"
    return "range" if rows <= RANGE_MAX_ROWS and view_rows <= RANGE_MAX_VIEW_ROWS else "asof"


def _source_relation(read: ViewRead, index: int, with_ties: bool) -> str:
    """The view's rows with canonical column names, pruned to the spine's time range."""
    src = read.source
    ts = f"{quote(src.timestamp_field)}::TIMESTAMPTZ"
    cols = [f"{quote(src.column_for(key))} AS __fb_k{j}"
            for j, (key, _) in enumerate(read.key_columns) if not read.view.entityless]
    cols.append(f"{ts} AS __fb_ets")
    cols += [f"{quote(src.column_for(feature))} AS __fb_c{j}"
             for j, (feature, _) in enumerate(read.columns)]
    created = (f"{quote(src.created_timestamp_column)}::TIMESTAMPTZ"
               if src.created_timestamp_column else "NULL::TIMESTAMPTZ")
    order = f"{created} DESC NULLS LAST, file_index DESC, file_row_number DESC"
    where = f"{ts} IS NOT NULL AND {ts} <= $max_ts"
    if read.ttl_seconds is not None:
        where += f" AND {ts} >= $min_ts - to_microseconds($ttl{index})"
    reader = f"read_parquet($files{index}, file_row_number = true, union_by_name = true)"
    if with_ties:
        cols += [f"{created} AS __fb_cts", "file_index AS __fb_file",
                 "file_row_number AS __fb_frn"]
        return f"SELECT {', '.join(cols)} FROM {reader} WHERE {where}"  # noqa: S608
    keys = [f"__fb_k{j}" for j in range(len(read.key_columns)) if not read.view.entityless]
    partition = ", ".join([*keys, "__fb_ets"])
    return (f"SELECT {', '.join(cols)} FROM {reader} WHERE {where} "  # noqa: S608
            f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY {order}) = 1")


_LATEST_PER_ROW = (f"row_number() OVER (PARTITION BY s.{ROW} ORDER BY f.__fb_ets DESC, "
                   "f.__fb_cts DESC NULLS LAST, f.__fb_file DESC, f.__fb_frn DESC)")
"""Rank of a candidate within its spine row: latest event, then created, file, row in file."""


def _bucket_ctes(read: ViewRead, index: int, alias: str) -> list[str]:
    """Equi-join on (keys, TTL-wide time bucket) instead of a sort or an open inequality.

    With buckets of exactly the TTL, a row's window [T - ttl, T] lies in its own bucket and the
    one before, so each spine row is emitted twice (bucket b and b - 1) and hash-joined to the
    view's rows of the same keys and bucket; only those few candidates are ranked. Buckets are
    counted from min spine time - ttl (, the earliest event that can match), so
    they are never negative and integer division floors. Views without a TTL cannot use it.
    """
    src, ttl = f"src{index}", f"$ttl{index}"
    origin = f"(epoch_us($min_ts::TIMESTAMPTZ) - {ttl})"
    keys = [] if read.view.entityless else list(dict.fromkeys(c for _, c in read.key_columns))
    carried = ", ".join([ROW, SPINE_TS, *(quote(c) for c in keys)])
    expanded = (f"SELECT {carried}, (epoch_us({SPINE_TS}) - {origin}) // {ttl} - __fb_o.o "  # noqa: S608
                f"AS __fb_b FROM spine, (VALUES (0), (1)) __fb_o(o)")
    relation = _source_relation(read, index, with_ties=True)
    on = " AND ".join([*_key_match(read, "s", "f"), "s.__fb_b = f.__fb_b",
                       f"f.__fb_ets <= s.{SPINE_TS}", _ttl_ok(read, index, "f")])
    picked = ", ".join(f"f.__fb_c{j}" for j in range(len(read.columns)))
    return [
        f"{src} AS (SELECT *, (epoch_us(__fb_ets) - {origin}) // {ttl} AS __fb_b "  # noqa: S608
        f"FROM ({relation}))",
        f"{alias} AS (SELECT s.{ROW}, {picked} FROM ({expanded}) s "  # noqa: S608
        f"JOIN {src} f ON {on} QUALIFY {_LATEST_PER_ROW} = 1)",
    ]


_COUNTING = frozenset(("count", "count_distinct"))


def _window_ctes(read: ViewRead, index: int, alias: str, params: dict[str, object]) -> list[str]:
    """Each spine row's aggregate over the events with time in (T - window, T].

    The source's raw events within the longest window are range-joined to the spine rows of
    the same keys and grouped per spine row; each aggregation filters to its own window. The
    view's TTL does not apply: the window is the aggregation's own bound. Values are cast to
    the declared feature type so the file's schema matches the registry.
    """
    src = read.source
    ts = f"{quote(src.timestamp_field)}::TIMESTAMPTZ"
    inputs = list(dict.fromkeys(w.column for w in read.windows))
    cols = [f"{quote(src.column_for(key))} AS __fb_k{j}"
            for j, (key, _) in enumerate(read.key_columns) if not read.view.entityless]
    cols.append(f"{ts} AS __fb_ets")
    cols += [f"{quote(src.column_for(column))} AS __fb_a{j}" for j, column in enumerate(inputs)]
    longest = f"$win{index}"
    params[f"win{index}"] = max(w.window_us for w in read.windows)
    reader = f"read_parquet($files{index}, union_by_name = true)"
    relation = (f"SELECT {', '.join(cols)} FROM {reader} WHERE {ts} IS NOT NULL "  # noqa: S608
                f"AND {ts} <= $max_ts AND {ts} > $min_ts - to_microseconds({longest})")
    picked = []
    for j, window in enumerate(read.windows):
        params[f"win{index}_{j}"] = window.window_us
        value = SQL_AGGREGATES[window.function].format(
            f"f.__fb_a{inputs.index(window.column)}")
        value += (f" FILTER (WHERE f.__fb_ets > s.{SPINE_TS} - "
                  f"to_microseconds($win{index}_{j}))")
        declared = SQL_TYPES.get(read.view.features[read.columns[j][0]].value_type)
        picked.append(f"CAST({value} AS {declared}) AS __fb_c{j}" if declared
                      else f"{value} AS __fb_c{j}")
    on = " AND ".join([*_key_match(read, "s", "f"), f"f.__fb_ets <= s.{SPINE_TS}",
                       f"f.__fb_ets > s.{SPINE_TS} - to_microseconds({longest})"])
    src_alias = f"src{index}"
    return [
        f"{src_alias} AS ({relation})",
        f"{alias} AS (SELECT s.{ROW}, {', '.join(picked)} FROM spine s "  # noqa: S608
        f"JOIN {src_alias} f ON {on} GROUP BY s.{ROW})",
    ]


def _key_match(read: ViewRead, left: str, right: str) -> list[str]:
    if read.view.entityless:
        return []
    return [f"{left}.{quote(column)} = {right}.__fb_k{j}"
            for j, (_, column) in enumerate(read.key_columns)]


def _ttl_ok(read: ViewRead, index: int, alias: str) -> str:
    if read.ttl_seconds is None:
        return f"{alias}.__fb_ets IS NOT NULL"
    return f"{alias}.__fb_ets >= s.{SPINE_TS} - to_microseconds($ttl{index})"


def build_query(selection: Selection, plans: list[str], has_files: list[bool],
                spine_names: list[tuple[str, str]] | None = None) -> JoinQuery:
    """SQL over `spine` (registered Arrow) and per-view `$files<i>` lists.

    By default outputs are `__fb_o<i>` aliases renamed in Arrow. With `spine_names` (registered
    spine column, name to write) the SELECT gives every column its final (quoted) name, so the
    result can go straight to `COPY ... TO` without passing through Python.
    """
    ctes: list[str] = []
    joins: list[str] = []
    outputs: list[tuple[str, str]] = []  # (SQL value, output column)
    params: dict[str, object] = {}
    for i, read in enumerate(selection.reads):
        if read.ttl_seconds is not None and has_files[i]:
            params[f"ttl{i}"] = max(1, round(read.ttl_seconds * 1_000_000))
        if not has_files[i]:  # no data yet: the view contributes typed-less NULLs
            outputs += [("NULL", column) for _, column in read.columns]
            continue
        alias = f"v{i}"
        if plans[i] == WINDOW:
            ctes.extend(_window_ctes(read, i, alias, params))
            joins.append(f"LEFT JOIN {alias} ON s.{ROW} = {alias}.{ROW}")
            values = [f"COALESCE({alias}.__fb_c{j}, 0)" if w.function in _COUNTING
                      else f"{alias}.__fb_c{j}" for j, w in enumerate(read.windows)]
        elif plans[i] == "asof":
            ctes.append(f"{alias} AS ({_source_relation(read, i, with_ties=False)})")
            on = " AND ".join([*_key_match(read, "s", alias), f"s.{SPINE_TS} >= {alias}.__fb_ets"])
            joins.append(f"ASOF LEFT JOIN {alias} ON {on}")
            keep = _ttl_ok(read, i, alias)
            values = [f"CASE WHEN {keep} THEN {alias}.__fb_c{j} END"
                      for j in range(len(read.columns))]
        elif plans[i] == "bucket":
            ctes.extend(_bucket_ctes(read, i, alias))
            joins.append(f"LEFT JOIN {alias} ON s.{ROW} = {alias}.{ROW}")
            values = [f"{alias}.__fb_c{j}" for j in range(len(read.columns))]
        else:
            src = f"src{i}"
            ctes.append(f"{src} AS ({_source_relation(read, i, with_ties=True)})")
            on = " AND ".join([*_key_match(read, "s", "f"), f"f.__fb_ets <= s.{SPINE_TS}",
                               _ttl_ok(read, i, "f")])
            picked = ", ".join(f"f.__fb_c{j}" for j in range(len(read.columns)))
            ctes.append(
                f"{alias} AS (SELECT s.{ROW}, {picked} FROM spine s "  # noqa: S608
                f"JOIN {src} f ON {on} QUALIFY {_LATEST_PER_ROW} = 1)")
            joins.append(f"LEFT JOIN {alias} ON s.{ROW} = {alias}.{ROW}")
            values = [f"{alias}.__fb_c{j}" for j in range(len(read.columns))]
        outputs += [(value, column) for value, (_, column) in zip(values, read.columns,
                                                                     strict=True)]
    with_clause = f"WITH {', '.join(ctes)} " if ctes else ""
    aliases = {f"__fb_o{n}": column for n, (_, column) in enumerate(outputs)}
    if spine_names is None:
        select = ", ".join([f"s.* EXCLUDE ({ROW})",
                            *(f"{value} AS __fb_o{n}" for n, (value, _) in enumerate(outputs))])
    else:
        select = ", ".join([*(f"s.{quote(c)} AS {quote(name)}" for c, name in spine_names),
                            *(f"{value} AS {quote(column)}" for value, column in outputs)])
    sql = (f"{with_clause}SELECT {select} FROM spine s {' '.join(joins)} "  # noqa: S608
           f"ORDER BY s.{ROW}")
    plan = plans[0] if len(set(plans)) == 1 else "+".join(plans)
    return JoinQuery(sql=sql, params=params, plan=plan, output_aliases=aliases)
