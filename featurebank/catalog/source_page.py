"""What a data-source page shows: its kind, schema, where its data lives, the freshness of the
views reading it, and its lineage (source → views → services → training sets).

A source has no history of its own in the catalog: its freshness is that of the views it feeds,
and its files are listed from its path (a registry value, never user input).
"""

from __future__ import annotations

import asyncio
import glob
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from featurebank.catalog.lineage import Diagram, source_diagram
from featurebank.catalog.pages import _freshness, _stats
from featurebank.catalog.service import Catalog


def local_files(path: str) -> list[str]:
    """The Parquet files of a local path: a glob, a file, or a directory (read recursively);
    none for a remote URI, which this server does not list."""
    if "://" in path:
        return []
    if "*" in path:
        return sorted(glob.glob(path, recursive=True))
    target = Path(path)
    if target.is_dir():
        return sorted(str(p) for p in target.rglob("*.parquet"))
    return [path] if target.is_file() else []


def _files_summary(path: str) -> dict[str, Any]:
    files = local_files(path)
    stats = [Path(f).stat() for f in files]
    newest = max((s.st_mtime for s in stats), default=None)
    try:  # the newest file's footer: what readers see now (older files may lack new columns)
        schema = pq.read_schema(files[-1]) if files else None
    except (OSError, pa.ArrowInvalid):  # unreadable: the page still shows the rest
        schema = None
    columns = [{"name": f.name, "type": str(f.type)} for f in schema] if schema else []
    return {"count": len(files), "bytes": sum(s.st_size for s in stats), "columns": columns,
            "modified": datetime.fromtimestamp(newest, UTC).isoformat() if newest else None,
            "remote": "://" in path}


async def source_page(catalog: Catalog, name: str) -> tuple[dict[str, Any], Diagram]:
    """A data source with the views reading it (their freshness), its files and lineage."""
    body = catalog.detail("data-sources", name)  # NotFound with a hint for an unknown name
    records = catalog.snapshot.records
    source = records.sources[name]
    views = []
    training: dict[str, list[dict[str, Any]]] = {}
    for view_name in source.views:
        record = records.views[view_name]
        if record.type != "on_demand":
            await _stats(catalog, view_name)
        training[view_name] = [{"id": t.id, "created": t.created}
                               for t in catalog.usage.training_for_view(view_name)]
        views.append({**_freshness(catalog, view_name), "services": record.services,
                      "features": [{"name": f.name, "served": f.served}
                                   for f in record.features]})
    body["view_details"] = views
    if not source.timestamp_field and source.batch_source in records.sources:
        body["timestamp_field"] = records.sources[source.batch_source].timestamp_field  # push
    body["history_of"] = [s.name for s in records.sources.values() if s.batch_source == name]
    body["files"] = await asyncio.to_thread(_files_summary, source.path) if source.path else None
    body["training_sets"] = sorted({t["id"] for uses in training.values() for t in uses})
    return body, source_diagram(records, source, training)
