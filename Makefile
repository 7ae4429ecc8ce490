# fluid-scim: `make run` serves a demo organisation; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PIP := $(VENV)/bin/pip

.PHONY: run test lint bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	VENV=$(VENV) scripts/run.sh

test: lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# `make bench BENCH_ARGS="--users 500 --backends sqlite"`: see bench/README.md.
bench: $(VENV)/.dev
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

# Lint, the layer contracts (pyproject.toml), static types and the complexity bound (15 per function).
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy
	$(VENV)/bin/python scripts/check_complexity.py

clean:
	rm -rf $(VENV) .run instance .pytest_cache .hypothesis test-artifacts
