# Every target creates .venv on first use: torch (pinned CPU build) and numpy first, then the package:
# `make site` and `make serve` with the `guide` extra only (SITE_STAMP), the other targets with the
# test and bench extras too (STAMP). `make test-floors` has its own venv, .venv-floors: exactly the floors.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE_STAMP := $(VENV)/.installed-site
STAMP := $(VENV)/.installed
FLOORS := .venv-floors
# the tests that build real sites (small ones and the guide) and render blocks and formulas
FLOOR_TESTS := tests/test_build.py tests/test_golden.py tests/test_mathml.py tests/test_cli.py \
	tests/test_hardening.py tests/test_reference.py tests/test_prose_numbers.py
export NO_MKDOCS_2_WARNING := 1

.PHONY: site serve test test-long test-floors hosts lint bench clean

$(SITE_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 numpy
	$(BIN)/python -m pip install -q -e '.[guide]'
	touch $(SITE_STAMP)

$(STAMP): $(SITE_STAMP)
	$(BIN)/python -m pip install -q -e '.[guide,test,bench]'
	# ultralytics-thop installs a module named `thop`, as thop 0.1.1 does: kept apart, where
	# tests/test_counters.py imports it from (ULTRALYTICS_THOP)
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(VENV)/ultralytics-thop ultralytics-thop==2.2.3
	touch $(STAMP)

site: $(SITE_STAMP)  ## build and verify the guide into site/
	$(BIN)/mkdocs build --strict

serve: $(SITE_STAMP)  ## live preview for authors (both editions; ONLY=en or ONLY=zh for one, twice as fast)
	$(if $(ONLY),CNN_COST_ONLY=$(ONLY) )$(BIN)/mkdocs serve

test: lint  ## lint, type-check and run the tests, except the long ones (a few minutes)
	$(BIN)/python -m pytest -q

test-long: lint hosts  ## lint, type-check, every test (the long ones too: serve soak, damaged caches), then test-floors; CI runs this
	$(BIN)/python -m pytest -q --long
	$(MAKE) test-floors

$(FLOORS)/.installed: pyproject.toml .ci/floors.py
	rm -rf $(FLOORS)
	$(PY) -m venv $(FLOORS)
	$(FLOORS)/bin/python -m pip install -q --upgrade pip
	$(FLOORS)/bin/python -m pip install -q torch==2.13.0 numpy
	$(FLOORS)/bin/python .ci/floors.py > $(FLOORS)/floors.txt
	$(FLOORS)/bin/python -m pip install -q -c $(FLOORS)/floors.txt -e '.[guide,test]'
	touch $(FLOORS)/.installed

test-floors: $(FLOORS)/.installed  ## the real-build tests and the guide with every dependency at its floor (pyproject.toml)
	$(FLOORS)/bin/python .ci/floors.py --check
	$(FLOORS)/bin/python -m pytest -q -p no:cacheprovider $(FLOOR_TESTS)

# The other site generators tests/test_hosts.py builds with, each in a venv of its own that shares
# .venv's torch through a .pth file (tests/link_torch.py; `--system-site-packages` would reach the
# system Python's packages, not .venv's). ZENSICAL: the newest release pip can install (0.1.x needs
# zensical-ui, which the index does not serve).
HOSTS := .venv-hosts
ZENSICAL ?= 0.0.73
PROPERDOCS ?= 1.6.7

$(HOSTS)/.installed: pyproject.toml tests/link_torch.py $(STAMP)
	rm -rf $(HOSTS)
	$(BIN)/python tests/link_torch.py $(HOSTS)/torch
	set -e; for host in zensical properdocs; do \
	  $(BIN)/python -m venv $(HOSTS)/$$host; \
	  echo "$(abspath $(HOSTS))/torch" > "$$($(HOSTS)/$$host/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/cnn_cost_torch.pth"; \
	done
	$(HOSTS)/zensical/bin/python -m pip install -q zensical==$(ZENSICAL)
	$(HOSTS)/properdocs/bin/python -m pip install -q properdocs==$(PROPERDOCS) properdocs-theme-mkdocs==$(PROPERDOCS)
	$(HOSTS)/zensical/bin/python -m pip install -q -e .
	$(HOSTS)/properdocs/bin/python -m pip install -q -e .
	touch $(HOSTS)/.installed

hosts: $(HOSTS)/.installed  ## Zensical and ProperDocs in .venv-hosts/, for tests/test_hosts.py (test-long makes them)

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check plugin tests bench
	$(BIN)/mypy

bench: $(STAMP)  ## benchmark; writes bench/results/ and the README's table
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf site .cache
