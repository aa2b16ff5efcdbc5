# Portside: `make demo` and `make test` work on a fresh machine; they install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BASE_STAMP := $(VENV)/.base-installed
TEST_STAMP := $(VENV)/.test-installed
BENCH_STAMP := $(VENV)/.bench-installed
CODE := domain ports adapters application

.PHONY: demo test lint types layering check system-packages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

# The embedded default needs no extra: the demo installs the base package only.
$(BASE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(BASE_STAMP)

demo: $(BASE_STAMP)
	$(BIN)/portside demo

# redis-server and PostgreSQL 15 from Debian's packages, when they are not on the machine yet.
system-packages:
	bash .ci/install-system-packages

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

types: $(TEST_STAMP)
	$(BIN)/mypy --strict $(CODE) tests bench

layering: $(TEST_STAMP)
	$(BIN)/lint-imports

check: lint types layering

test: system-packages check
	$(BIN)/python -m pytest

# The bench extra adds the baselines (cachetools) to the test extra.
$(BENCH_STAMP): pyproject.toml $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: system-packages $(BENCH_STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info portside.db portside.db-wal portside.db-shm
