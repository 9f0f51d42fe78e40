# The two set-up commands: `make grade` and `make test`. Everything installs from this file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUBMISSIONS ?= submissions
REPORTS ?= reports

.PHONY: grade test bench reference clean-reports chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

grade: $(STAMP)
	$(BIN)/grader grade $(SUBMISSIONS) --out $(REPORTS)

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench.py

# Regenerate the stored reference values for the public probe inputs (after editing reference/).
reference: $(STAMP)
	$(BIN)/python -m graders.expected

# Debian's Chromium, for the browser tests (CI installs it; no browser download).
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

clean-reports:
	find $(REPORTS) -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
