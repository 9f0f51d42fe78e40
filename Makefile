# The two set-up commands: `make grade` and `make test`. Everything installs from this file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUBMISSIONS ?= submissions
REPORTS ?= reports
# The demo classes, one folder per shipped assignment (submissions/a10/, submissions/a11/): `make grade` grades each
# into its own reports folder (`make grade-a11`: one of them). No --assignment: the notebooks' metadata name it, and
# a class naming none is the installation's default's (graders.pipeline.triage.assignment_for).
CLASSES := $(notdir $(patsubst %/,%,$(wildcard $(SUBMISSIONS)/*/)))

.PHONY: grade $(addprefix grade-,$(CLASSES)) test lint bench bench-dask reference clean-reports chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dask,assist,bench]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

grade: $(addprefix grade-,$(CLASSES))

$(addprefix grade-,$(CLASSES)): grade-%: $(STAMP)
	$(BIN)/grader grade $(SUBMISSIONS)/$* --out $(REPORTS)/$*

# Two pytest workers, a test module each at a time (module-scoped fixtures are built once): one process left a
# core idle ~45% of the suite (measured: CPU 50-65% busy, 36 min; with two workers 95-99%, 25 min, on the 2-core VM).
test: lint $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=30

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

# Regenerate every assignment's stored reference values for its public probe inputs (after editing reference/).
reference: $(STAMP)
	$(BIN)/python -m assignments.a10.expected
	$(BIN)/python -m assignments.a11.expected

# Debian's Chromium, for the browser tests (CI installs it; no browser download).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

clean-reports:
	find $(REPORTS) -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
