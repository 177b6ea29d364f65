# One command per task; README, CI and docs use these same targets.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup up test test-fast lint bench clean

setup:
	@scripts/bootstrap.sh

# make up PORT=8100 (or FEATUREBANK_PORT=8100 make up) when 8000 is taken.
up: setup
	$(BIN)/featurebank up $(if $(PORT),--port $(PORT))

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest tests/unit

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	@scripts/bootstrap.sh --bench
	$(BIN)/python -m bench.run_all

clean:
	rm -rf data test-artifacts bench/results .pytest_cache .mypy_cache .ruff_cache
