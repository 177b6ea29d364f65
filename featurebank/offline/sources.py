"""Where a view's offline rows live and how their columns are named."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from feast.data_source import DataSource
from feast.infra.offline_stores.file_source import FileSource
from feast.stream_feature_view import StreamFeatureView

from featurebank.definitions import ViewSpec
from featurebank.errors import InvalidInput


@dataclass(frozen=True)
class ParquetSource:
    """A FileSource resolved to a path (file or glob) and its column naming."""

    name: str
    path: str
    timestamp_field: str
    created_timestamp_column: str | None
    field_mapping: dict[str, str] = field(default_factory=dict)

    def column_for(self, name: str) -> str:
        """The source column that feeds feature or key `name` (field_mapping is src → name)."""
        for source_column, mapped in self.field_mapping.items():
            if mapped == name:
                return source_column
        return name

    @property
    def directory(self) -> Path:
        """The directory new files are appended to; only glob paths can take appends."""
        if "*" not in self.path:
            raise InvalidInput(
                f"source {self.name!r} is the single file {self.path}; offline writes need a "
                "glob path such as /data/<name>/*.parquet"
            )
        return Path(self.path.split("*", 1)[0]).resolve()

    def has_files(self) -> bool:
        if "*" in self.path:
            base = Path(self.path.split("*", 1)[0])
            return base.is_dir() and any(base.rglob("*.parquet"))
        return Path(self.path).exists()


def _as_file_source(source: DataSource | None, owner: str) -> ParquetSource:
    if not isinstance(source, FileSource):
        kind = type(source).__name__ if source is not None else "no source"
        raise InvalidInput(f"{owner} reads from {kind}; only Parquet FileSources are supported")
    path = source.path
    if "://" not in path and not Path(path).is_absolute():
        raise InvalidInput(f"{owner}: FileSource path {path!r} must be absolute")
    return ParquetSource(
        name=source.name,
        path=path,
        timestamp_field=source.timestamp_field,
        created_timestamp_column=source.created_timestamp_column or None,
        field_mapping=dict(source.field_mapping or {}),
    )


def offline_source(view: ViewSpec) -> ParquetSource:
    """The Parquet history of a view: its batch source, or its stream's `batch_source`."""
    feast_view = view.feast_view
    batch = feast_view.batch_source
    if isinstance(feast_view, StreamFeatureView) and batch is None:
        batch = getattr(feast_view.stream_source, "batch_source", None)
    if batch is not None and not isinstance(batch, FileSource):
        batch = getattr(batch, "batch_source", batch)
    return _as_file_source(batch, f"feature view {view.name!r}")
