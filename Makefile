# Every target creates .venv on first use: torch (pinned CPU build) and numpy first, then the package.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_MKDOCS_2_WARNING := 1

.PHONY: site serve test test-long lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 numpy
	$(BIN)/python -m pip install -q -e '.[material,test,bench]'
	# ultralytics-thop installs a module named `thop`, as thop 0.1.1 does: kept apart, where
	# tests/test_counters.py imports it from (ULTRALYTICS_THOP)
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(VENV)/ultralytics-thop ultralytics-thop==2.2.3
	touch $(STAMP)

site: $(STAMP)  ## build and verify the guide into site/
	$(BIN)/mkdocs build --strict

serve: $(STAMP)  ## live preview for authors
	$(BIN)/mkdocs serve

test: lint  ## lint, type-check and run the tests, except the long ones (a few minutes)
	$(BIN)/python -m pytest -q

test-long: lint  ## lint, type-check and run every test, the long ones too (serve soak, damaged caches); CI runs this
	$(BIN)/python -m pytest -q --long

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check plugin tests bench
	$(BIN)/mypy

bench: $(STAMP)  ## benchmark; writes bench/results/ and the README's table
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf site .cache
