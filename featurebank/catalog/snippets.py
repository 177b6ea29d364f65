"""Copy-and-run code for a catalog page: a curl online lookup and a Python training set.

A snippet must run as shown and answer with values, so it is built from data, not
placeholders: the entity keys and event time come from the views' offline history (the newest
keys whose rows have every feature set, see `stats._recent_keys`), combined across views so one
row matches every view it reads. Placeholders remain only for what history cannot give: request
fields of on-demand views, and keys of views that have no history yet.

A training set is a write, so the Python snippet reads the key from `FEATUREBANK_API_KEY`
(e.g. the dev key `featurebank up` prints); the curl lookup sends it only when the server
requires a key for reads. Everything is a plain string; the UI escapes it when rendering.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

import orjson

from featurebank.catalog.freshness import parse_time

KEY_VARIABLE = "FEATUREBANK_API_KEY"
PLACEHOLDER: dict[str, Any] = {"INT64": 1, "INT32": 1, "STRING": "example", "FLOAT": 1.0,
                               "DOUBLE": 1.0, "BOOL": True, "Int64": 1, "Int32": 1,
                               "String": "example", "Float32": 1.0, "Float64": 1.0, "Bool": True}


@dataclass
class Sample:
    """One entity row: join keys (and request fields) with a value each, and an event time."""

    values: dict[str, Any] = field(default_factory=dict)
    at: str | None = None
    from_history: bool = False
    gaps: list[str] = field(default_factory=list)
    """Views with history that this row gets no value from at `at` (no matching key, or their
    row is older than their TTL then): a page says so rather than promise values."""
    expired: list[str] = field(default_factory=list)
    """Views whose row for this key was already older than their TTL at `now`: online, they
    answer OUTSIDE_MAX_AGE."""


History = tuple[str, list[dict[str, Any]], float | None]
"""A view's name, recent keys (`{"key": {...}, "time": iso}`, newest first) and TTL (s)."""


def _seconds(iso: str | None) -> float:
    moment = parse_time(iso)
    return moment.timestamp() if moment is not None else 0.0


class _Lookup:
    """One view's recent keys, indexed by their key values."""

    def __init__(self, history: History) -> None:
        self.name, self.entries, self.ttl = history
        self.names = tuple(sorted(self.entries[0]["key"]))
        self.by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
        for entry in self.entries:
            self.by_key.setdefault(tuple(entry["key"][k] for k in self.names), entry)

    def match(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Its newest entry that agrees with `values` on the keys they share."""
        if all(k in values for k in self.names):
            return self.by_key.get(tuple(values[k] for k in self.names))
        return next((e for e in self.entries
                     if all(values.get(k, v) == v for k, v in e["key"].items())), None)


def combine(histories: list[History], now: float | None = None) -> Sample:
    """One row that gives values from as many of the views as possible.

    Candidates come from the view with the most join keys (then the fewest recent keys); each
    other view contributes its entry that agrees on the keys they share. The row's time is the
    newest of the entries used, so every view has its row at or before it; a view counts only
    when that row is still within its TTL then. The best candidate covers the most views, then
    (given `now`, unix seconds) has the most rows still within their TTL now, so the online
    lookup answers with values too.
    """
    usable = sorted((_Lookup(h) for h in histories if h[1]),
                    key=lambda v: (-len(v.names), len(v.entries)))
    if not usable:
        return Sample()
    best: tuple[tuple[int, int], Sample] | None = None
    for start in usable[0].entries:
        values = dict(start["key"])
        used = [(_seconds(start["time"]), usable[0])]
        newest = start["time"]
        for other in usable[1:]:
            entry = other.match(values)
            if entry is not None:
                values.update(entry["key"])
                used.append((_seconds(entry["time"]), other))
                if _seconds(entry["time"]) > _seconds(newest):
                    newest = entry["time"]  # as written: a float round trip could lose a µs
        at = _seconds(newest)
        covered = [v.name for t, v in used if v.ttl is None or at - t <= v.ttl]
        score = (len(covered), sum(1 for t, v in used
                                   if now is None or v.ttl is None or now - t <= v.ttl))
        if best is None or score > best[0]:
            gaps = [v.name for v in usable if v.name not in covered]
            expired = [v.name for t, v in used
                       if now is not None and v.ttl is not None and now - t > v.ttl]
            best = (score, Sample(values, newest, True, gaps, expired))
        if score == (len(usable), len(usable)):
            break
    assert best is not None
    return best[1]


def fill(sample: Sample, columns: dict[str, str]) -> dict[str, list[Any]]:
    """Entity-row columns: every wanted column (name → type) with the sample's value, or a
    placeholder of its type when history did not give one."""
    return {name: [sample.values.get(name, PLACEHOLDER.get(kind, 1))]
            for name, kind in columns.items()}


def curl_lookup(base: str, target: dict[str, Any], entities: dict[str, list[Any]], *,
                read_key: bool) -> str:
    """`curl` for `POST /get-online-features`; `target` is `{"features": [...]}` or
    `{"feature_service": name}`, optionally with `"full_feature_names": true`."""
    payload = orjson.dumps({**target, "entities": entities}).decode()
    lines = [f"curl -s -X POST {shlex.quote(base + '/get-online-features')}",
             "  -H 'Content-Type: application/json'"]
    if read_key:
        lines.append(f'  -H "X-API-Key: ${KEY_VARIABLE}"')
    lines.append(f"  -d {shlex.quote(payload)}")
    return " \\\n".join(lines)


def python_training_set(base: str, target: dict[str, Any], entities: dict[str, list[Any]],
                        at: str | None) -> str:
    """A `featurebank.client` training set for one entity row at `at` (ISO, UTC)."""
    when = at or "now"
    argument = (f"feature_service={target['feature_service']!r}" if "feature_service" in target
                else f"features={target['features']!r}")
    if target.get("full_feature_names"):
        argument += ", full_feature_names=True"
    rows = "".join(f"    {k!r}: {v!r},\n" for k, v in entities.items())
    return (
        "import os\n\n"
        "import pandas as pd\n"
        "from featurebank.client import Client\n\n"
        "# A training set is a write: export a key with the write scope first, e.g. the\n"
        f"# dev API key `featurebank up` prints: export {KEY_VARIABLE}=<that key>\n"
        f"client = Client({base!r}, api_key=os.environ[{KEY_VARIABLE!r}])\n"
        "entity_rows = pd.DataFrame({\n"
        f"{rows}"
        f"    'event_timestamp': pd.to_datetime([{when!r}], utc=True),\n"
        "})\n"
        f"df = client.training_set(entity_rows, {argument})\n"
        "print(df.T)\n"
    )


def snippets(base: str, target: dict[str, Any], entities: dict[str, list[Any]],
             at: str | None, *, read_key: bool,
             lookup: dict[str, Any] | None = None) -> dict[str, str]:
    """Both snippets for `target`; `lookup` replaces it in the curl when a lookup can return
    less than a training set (an aggregating view's raw columns are offline only). A lookup
    with no feature to ask for gives no curl ("")."""
    online = target if lookup is None else lookup
    curl = ("" if "features" in online and not online["features"]
            else curl_lookup(base, online, entities, read_key=read_key))
    return {"curl": curl, "python": python_training_set(base, target, entities, at)}


def curl_push(base: str, source: str, df: dict[str, list[Any]]) -> str:
    """`curl` for `POST /push` of one example row online; a push is a write, so the key comes
    from `FEATUREBANK_API_KEY` always."""
    payload = orjson.dumps({"push_source_name": source, "df": df, "to": "online"}).decode()
    return " \\\n".join([
        f"curl -s -X POST {shlex.quote(base + '/push')}",
        "  -H 'Content-Type: application/json'",
        f'  -H "X-API-Key: ${KEY_VARIABLE}"',
        f"  -d {shlex.quote(payload)}",
    ])


def python_read_files(path: str, timestamp_field: str | None) -> str:
    """DuckDB over a source's Parquet files (`path` as the registry has it: a file, a glob or
    a directory), newest rows first."""
    pattern = path if "*" in path or path.endswith(".parquet") else (
        path.rstrip("/") + "/**/*.parquet")
    order = ""
    if timestamp_field:
        order = ' ORDER BY "' + timestamp_field.replace('"', '""') + '" DESC'
    # shown, not run here; the column name comes from the registry, quoted as an identifier
    sql = f"SELECT * FROM read_parquet(?, union_by_name = true){order} LIMIT 5"  # noqa: S608
    return (
        "import duckdb\n\n"
        f"files = {pattern!r}\n"
        f"df = duckdb.connect().execute({sql!r}, [files]).df()\n"
        "print(df)\n"
    )
