# shoplens: every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO_STORE ?= demo.duckdb
DEMO_REPORT ?= demo-report.html

.PHONY: help install demo test lint fmt bench clean browser-deps

help:
	@echo "make demo   simulate a shop into $(DEMO_STORE), analyse it, train and score the models, write its report"
	@echo "make test   lint, type-check and run the whole test suite"
	@echo "make bench  run the benchmarks (ours vs baselines, ratios printed)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,spark]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/shoplens generate --customers 20000 --days 730 --seed 7 --store $(DEMO_STORE) --force
	$(VENV)/bin/shoplens status --store $(DEMO_STORE)
	$(VENV)/bin/shoplens kpis --store $(DEMO_STORE)
	$(VENV)/bin/shoplens kpis --store $(DEMO_STORE) --by month
	$(VENV)/bin/shoplens segments --store $(DEMO_STORE)
	$(VENV)/bin/shoplens cohorts --store $(DEMO_STORE)
	$(VENV)/bin/shoplens train --store $(DEMO_STORE)
	$(VENV)/bin/shoplens evaluate --store $(DEMO_STORE)
	$(VENV)/bin/shoplens score --store $(DEMO_STORE)
	$(VENV)/bin/shoplens report --store $(DEMO_STORE) --out $(DEMO_REPORT)
	@echo "demo report: $(abspath $(DEMO_REPORT))"
	@echo "dashboard:   $(VENV)/bin/shoplens dashboard --store $(DEMO_STORE)"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The browser tests drive Debian's chromium (never a downloaded browser).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-dejavu-core fonts-liberation; \
	else \
		echo "browser-deps: /usr/bin/chromium is missing and this is not root: the browser" \
		     "tests will be skipped (install: sudo apt-get install -y chromium" \
		     "fonts-dejavu-core fonts-liberation)"; \
	fi

test: lint browser-deps
	$(PY) -m pytest

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/bench_generate.py
	$(PY) benchmarks/bench_analytics.py
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_spark.py
	$(PY) benchmarks/bench_stream.py --explore
	$(PY) benchmarks/bench_clv.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_report.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(DEMO_STORE) $(DEMO_REPORT)
