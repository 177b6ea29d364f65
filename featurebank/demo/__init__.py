"""Demo data for the ride-hailing Feast repo in `feature_repo/`: seeded, realistic, scalable."""

from featurebank.demo.generate import LARGE_SCALE, generate_demo_data

__all__ = ["LARGE_SCALE", "generate_demo_data"]
