"""A feature's drift entry for the report, from the reference's bins and the window's counts."""

from __future__ import annotations

from featurebank.monitoring import drift
from featurebank.monitoring.distributions import Bins, Counts, FeatureKey
from featurebank.monitoring.report import FeatureDrift, Histogram


def feature_drift(key: FeatureKey, reference: Bins, current: Counts | None) -> FeatureDrift:
    """PSI and JS over the reference's bins, null rates on both sides, both histograms."""
    view, feature = key
    categories = ([*reference.categories, drift.OTHER] if reference.categories is not None
                  else None)
    edges = reference.shown_edges()
    shown_reference = Histogram(counts=list(reference.counts), edges=edges, categories=categories)
    if current is None:
        return FeatureDrift(view=view, feature=feature, psi=None, js=None,
                            null_rate_reference=drift.null_rate(reference.nulls, reference.rows),
                            null_rate_current=None, rows_reference=reference.rows,
                            rows_current=0, reference=shown_reference, current=None)
    return FeatureDrift(
        view=view, feature=feature,
        psi=drift.psi(reference.counts, current.counts),
        js=drift.js(reference.counts, current.counts),
        null_rate_reference=drift.null_rate(reference.nulls, reference.rows),
        null_rate_current=drift.null_rate(current.nulls, current.rows),
        rows_reference=reference.rows, rows_current=current.rows,
        reference=shown_reference,
        current=Histogram(counts=list(current.counts), edges=edges, categories=categories))
