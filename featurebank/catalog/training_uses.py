"""Training sets as usage: which features each training set read, and when it was made.

The training-set component records every job on disk and lists them with
`featurebank.training.registry_of_sets.list_training_sets`; failed jobs read nothing and are
left out. A listing that cannot be read degrades to online usage only.
"""

from __future__ import annotations

import logging

from featurebank.catalog.freshness import parse_time
from featurebank.catalog.usage import TrainingUse
from featurebank.settings import Settings
from featurebank.training.registry_of_sets import list_training_sets

log = logging.getLogger("featurebank.catalog")


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
        created = parse_time(record.created_at)
        uses.append(TrainingUse(record.id, created.timestamp() if created else None,
                                tuple(record.feature_refs)))
    return uses
