# bentu — `make run` runs the main job, `make test` runs the test suite.
# Each creates .venv on first use from the exact lock (requirements.txt + requirements-dev.txt):
# torch==2.13.0 (a local CPU build) is installed first and pinned; any other torch spec would pull a
# multi-GB CUDA build. `make lint` runs ruff and the layer contracts (import-linter, .importlinter);
# `make test` runs every test, `make test-fast` (plain pytest) skips those marked slow.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bentu-installed
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check

.PHONY: venv run test test-fast lint bench clean
venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) torch==2.13.0 -r requirements-dev.txt
	$(PIP) --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bentu run credit

test: $(STAMP)
	$(BIN)/python -m pytest -m "slow or not slow"

test-fast: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	PATH=$(BIN):$$PATH $(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/credit.py

clean:
	rm -rf $(VENV) runs .pytest_cache
