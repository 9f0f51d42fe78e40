# The two set-up commands: `make grade` and `make test`. Everything installs from this file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUBMISSIONS ?= submissions
REPORTS ?= reports

.PHONY: grade test lint bench bench-dask reference clean-reports chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dask]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

grade: $(STAMP)
	$(BIN)/grader grade $(SUBMISSIONS) --out $(REPORTS)

test: lint $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

# ruff (lint, import order, format), mypy and the import contracts (pyproject.toml, [tool.importlinter]), clean:
# part of `make test`.
lint: $(STAMP)
	$(BIN)/ruff check graders assignments reference tests bench
	$(BIN)/ruff format --check graders assignments reference tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/dask_bench.py

# Only the Dask rows of the bench: a loopback cluster of 1 and 2 workers against the local warm path.
bench-dask: $(STAMP)
	$(BIN)/python bench/dask_bench.py

# Regenerate the stored reference values for the public probe inputs (after editing reference/).
reference: $(STAMP)
	$(BIN)/python -m assignments.a10.expected

# Debian's Chromium, for the browser tests (CI installs it; no browser download).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

clean-reports:
	find $(REPORTS) -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
