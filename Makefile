# fluid-scim: `make run` serves a demo organisation; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PIP := $(VENV)/bin/pip
# Debian's Chromium, which the admin console tests drive (installed by `make test` when missing).
CHROMIUM ?= /usr/bin/chromium
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

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

test: lint $(CHROMIUM)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The admin console tests drive Debian's Chromium (tests/test_admin_console.py): installed with
# apt-get when it is missing (as root, or through sudo), or `make test` stops here and says why.
$(CHROMIUM):
	@echo "make test: $@ is missing; installing Debian's chromium package for the admin console tests" >&2
	@{ command -v apt-get >/dev/null && $(SUDO) apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null && test -x $@; } \
	  || { echo "make test: could not install Debian's chromium ($@), which tests/test_admin_console.py drives;" \
	       "install it (apt-get install chromium) and run make test again" >&2; exit 1; }

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
