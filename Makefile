# Two commands set everything up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5006
HOST   ?= 127.0.0.1

.PHONY: serve install install-test chromium test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files make re-runs fast; they are redone whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Serves the status page; with no DASHKIT_SCHEDULER it starts an embedded
# LocalCluster running the demo workload. `dashkit serve` rather than
# `panel serve layouts/status.py`: it keeps the next page built ahead.
serve: install
	$(BIN)/dashkit serve --port $(PORT) --address $(HOST)

# Browser tests drive Debian's Chromium; Playwright's own browser download
# does not work on these machines.
chromium:
	@if command -v chromium >/dev/null 2>&1; then \
		true; \
	elif [ "$$(id -u)" = "0" ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "chromium is missing: run 'sudo apt-get install -y chromium' and retry" >&2; exit 1; \
	fi

test: install-test chromium
	$(BIN)/ruff check dashkit tests layouts benchmarks
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check dashkit tests layouts benchmarks

bench: install-test chromium
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts
