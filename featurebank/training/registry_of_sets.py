"""Which training sets used which features: read off the job records on disk.

The catalog calls `list_training_sets(data_dir)` for lineage (view -> training sets) and
`sets_using(data_dir, "view:feature")` for one feature. Records are small JSON files, so a
scan is cheap; a record that cannot be read is skipped rather than failing the catalog page.
Each record goes through `jobs.load`, so a job whose owner died is listed as failed, not running.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from featurebank.training.jobs import JOB_FILE, jobs_root, load


@dataclass(frozen=True)
class TrainingSetRecord:
    id: str
    status: str
    created_at: str
    feature_refs: tuple[str, ...]
    feature_service: str | None
    views: tuple[str, ...]
    rows: int | None


def list_training_sets(data_dir: Path) -> list[TrainingSetRecord]:
    """Every training set under `data_dir`, newest first."""
    root = jobs_root(data_dir)
    if not root.is_dir():
        return []
    records = []
    for path in root.glob(f"*/{JOB_FILE}"):
        try:
            job = load(path.parent)
            records.append(TrainingSetRecord(
                id=job.id, status=job.status, created_at=job.created_at,
                feature_refs=tuple(job.feature_refs), feature_service=job.feature_service,
                views=tuple(job.views), rows=job.rows))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(records, key=lambda r: r.created_at, reverse=True)


def sets_using(data_dir: Path, ref: str) -> list[TrainingSetRecord]:
    """Training sets that used a feature (`view:feature`) or any feature of a view (`view`)."""
    if ":" in ref:
        return [r for r in list_training_sets(data_dir) if ref in r.feature_refs]
    return [r for r in list_training_sets(data_dir) if ref in r.views]
