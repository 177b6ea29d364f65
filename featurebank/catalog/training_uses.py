"""Training sets as usage: which features each training set read, and when it was made.

The training-set component records every job on disk and lists them with
`featurebank.training.registry_of_sets.list_training_sets`: jobs of the API (the Python client's
included) and sets the CLI built, which it records in the same place (`jobs.record_built`).
Failed jobs read nothing and are left out. A listing that cannot be read degrades to online
usage only. `training_use` is the same record as a job is accepted, so the replica that
accepted it shows it at once rather than at its next re-read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from featurebank.catalog.freshness import parse_time
from featurebank.catalog.usage import TrainingUse
from featurebank.settings import Settings
from featurebank.training.registry_of_sets import list_training_sets

log = logging.getLogger("featurebank.catalog")


def training_use(set_id: str, created_at: str, feature_refs: Sequence[str],
                 views: Sequence[str]) -> TrainingUse:
    created = parse_time(created_at)
    return TrainingUse(set_id, created.timestamp() if created else None, tuple(feature_refs),
                       tuple(views))


def list_training_uses(settings: Settings | None) -> list[TrainingUse]:
    """Every recorded, non-failed training set as a `TrainingUse`."""
    if settings is None:
        return []
    try:
        records = list_training_sets(settings.data_path)
    except OSError as exc:
        log.warning("listing training sets failed: %s", type(exc).__name__)
        return []
    uses = []
    for record in records:
        if record.status == "failed":
            continue
        uses.append(training_use(record.id, record.created_at, record.feature_refs,
                                 record.views))
    return uses
