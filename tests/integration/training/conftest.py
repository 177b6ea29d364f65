"""Fixtures for training-set tests (the repo builder lives in `training_repo.py`)."""

from tests.integration.training.training_repo import training_repo

__all__ = ["training_repo"]
