"""Fixtures for training-set tests (repo builders live in `training_repo.py`, `shopfin_repo.py`)."""

from tests.integration.training.shopfin_repo import shopfin
from tests.integration.training.training_repo import training_repo

__all__ = ["shopfin", "training_repo"]
