"""Monitoring: served-value logs, training/serving consistency, drift, freshness and alerts."""
