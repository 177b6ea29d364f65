"""The Feast project, declared so the catalog has a description and owner for it too.

The name must equal `project` in feature_store.yaml; `feast apply` refuses a mismatch.
"""

from feast import Project
from teams import MARKETPLACE_ML, owner, tags

ridehail = Project(
    name="ridehail",
    description=(
        "Features for the ride-hailing marketplace: dispatch ranking, surge pricing, ETAs and "
        "payment fraud, over drivers, riders and city zones."
    ),
    owner=owner(MARKETPLACE_ML),
    tags=tags(MARKETPLACE_ML, "marketplace", pii=False, cadence="mixed"),
)
