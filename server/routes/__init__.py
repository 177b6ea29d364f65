"""One router per area; handlers stay thin and call plain functions."""
