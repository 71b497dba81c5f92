# labkit: `make demo` runs the main job, `make test` runs every check. Both set up .venv from nothing.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=
FIREFOX_DRIVER := tests/interop/firefox
NODE_INSTALLED := $(FIREFOX_DRIVER)/node_modules/.installed
STEP := .ci/setup-step
# JupyterLab refuses to start as root without --allow-root
LAB_AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=
export NO_MKDOCS_2_WARNING := 1

.PHONY: all install system-deps demo test test-fast lint typecheck docs docs-serve pytest lab bench format clean

all: test

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "labkit needs Python 3.11 or newer"'
	@$(STEP) "Python virtual environment ($(VENV))" $(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	@$(STEP) "pip itself" $(BIN)/python -m pip install --progress-bar off --upgrade pip
	@$(STEP) "Python packages (labkit and its tools, into $(VENV))" \
		$(BIN)/python -m pip install --progress-bar off --editable '.[dev]'
	@touch $@

system-deps:
	@bash .ci/system-deps

# puppeteer-core, which drives Firefox over WebDriver BiDi in the interop tests
$(NODE_INSTALLED): $(FIREFOX_DRIVER)/package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing: install Node.js 18 or newer with npm (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@$(STEP) "puppeteer-core (npm, drives Firefox in the tests)" npm ci --prefix $(FIREFOX_DRIVER) --no-audit --no-fund
	@touch $@

install: system-deps $(INSTALLED)

demo: install
	@echo "Set-up done (its log: build/setup.log). Running labkit demo:"
	@$(BIN)/labkit demo

lint: install
	$(BIN)/ruff check labkit tests benchmarks
	$(BIN)/ruff format --check labkit tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

# the documentation site (MkDocs, Material, the API reference from the docstrings); a warning fails it
docs: install
	$(BIN)/mkdocs build --strict --site-dir site

docs-serve: install
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

pytest: install $(NODE_INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck docs pytest

# the fast layer alone: no service, no browser, no network (tests/unit), in seconds
test-fast: install
	$(BIN)/pytest tests/unit -q

format: install
	$(BIN)/ruff format labkit tests benchmarks
	$(BIN)/ruff check --fix labkit tests benchmarks

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 $(LAB_AS_ROOT) $(LAB_ARGS)

bench: install $(NODE_INSTALLED)
	$(BIN)/python benchmarks/bench_signaling.py
	$(BIN)/python benchmarks/bench_calls.py
	$(BIN)/python benchmarks/bench_stats.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_call_app.py
	$(BIN)/python benchmarks/bench_recording.py
	$(BIN)/python benchmarks/bench_browser.py
	$(BIN)/python benchmarks/bench_hostile.py
	$(BIN)/python benchmarks/bench_interop.py
	$(BIN)/python benchmarks/bench_inspector.py

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache $(FIREFOX_DRIVER)/node_modules
