# Every target that needs Python depends on the set-up stamp, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv installs the locked tree in about a minute, bytecode included, where pip takes three and a half
# (same pins, same wheels).
# It reads its index from UV_DEFAULT_INDEX / UV_INDEX (pip's configuration is pip's own).
# --compile-bytecode: uv leaves compiling to each module's first import, and where
# PYTHONDONTWRITEBYTECODE is set that is never saved: every command compiled dlt and dbt again.
UV_VERSION := 0.13.9
# The project's dependencies (and extras, with --extra) from pyproject.toml, at the versions
# requirements.lock pins: the lock holds every extra's tree, and only what is asked for is installed.
UV_INSTALL = $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c requirements.lock -r pyproject.toml
SPARK := $(VENV)/.installed-spark
DAGSTER := $(VENV)/.installed-dagster
DEV := $(VENV)/.installed-dev
# The test run's pytest options: both cores (each test has its own folders, ports and databases),
# and the slowest tests listed at the end. `make test PYTEST_ARGS="-n 0 -x"` runs one at a time.
# `make test-fast` runs three workers: its tests spend a sixth of their time waiting (on a hung S3
# endpoint's timeouts, a held lock, a scheduler's slot), which a third worker fills (632 s against
# 730 s); the whole suite's Spark and bench tests want a core each, so it runs one per core.
WORKERS ?= auto
PYTEST_ARGS ?= -n $(WORKERS) --dist loadgroup --durations=25
# What `make test-fast` leaves out: the tiers that start Spark, a browser, binlog servers, the
# bench, or run make in a copy of the checkout (markers in pyproject.toml).
SLOW_TIERS := spark or browser or binlog or bench or clone
PYTEST = export DO_NOT_TRACK=1 RUNTIME__DLTHUB_TELEMETRY=false; exec $(BIN)/python -m pytest $(PYTEST_ARGS)
PYTHON_CODE := ingestion transforms models settings runtime sandbox warehouse orchestration tests bench
# .env is read here, once, by python-dotenv's CLI: its settings reach dbt and the loader alike,
# and the shell's own variables win. `make test` never reads it. `exec`: the command replaces the
# recipe's shell, so signals from make reach it (and it dies with make: see runtime/run_lock.py).
DOTENV := $(if $(wildcard .env),$(BIN)/dotenv -f .env run --no-override --)
RUN := export DO_NOT_TRACK=1 RUNTIME__DLTHUB_TELEMETRY=false; exec $(DOTENV)

.DEFAULT_GOAL := help
.PHONY: help setup all ingest build spark java status report sql ide browser test test-fast lint docs bench bench-quick schedule dagster lock clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv with the pipeline's pinned dependencies and DuckDB extensions (idempotent)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or set PYTHON=" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV_INSTALL)
	$(BIN)/python -m warehouse setup-extensions
	@touch $@

# The extras (pyproject.toml), each installed by the first target that needs it: spark (make spark,
# the bench), dagster (make dagster), dev (the tests and linters). `make setup` installs none.
$(VENV)/.installed-%: $(STAMP)
	$(UV_INSTALL) --extra $*
	@touch $@

# `make all` runs these itself, not through a sub-make: each command is then make's own child, and
# dies with it (see runtime/run_lock.py), even when make is killed with SIGKILL.
INGEST = $(RUN) $(BIN)/python -m ingestion run $(ARGS)
BUILD = $(RUN) $(BIN)/dbt build

all: setup ## set up, ingest both sources, dbt build, source freshness, and print a summary
	@$(INGEST)
	@$(BUILD)
	@$(RUN) $(BIN)/dbt source freshness
	@$(RUN) $(BIN)/python -m warehouse summary
	@$(RUN) $(BIN)/python -m warehouse report

ingest: setup ## extract and load both sources (ARGS="--source orders --full-refresh")
	@$(INGEST)

build: setup ## dbt build: models, tests and exports
	@$(BUILD)

spark: setup $(SPARK) java ## dbt on Apache Spark over the lake (ARGS="run --select logs+"; default: build)
	@$(RUN) $(BIN)/python -m warehouse spark $(or $(ARGS),build)

java: ## Java 17, which Spark runs on (installed once from Debian's packages, as root)
	@command -v java >/dev/null || { \
		[ "$$(id -u)" = 0 ] || { echo "error: Java is missing: run \`sudo apt-get install openjdk-17-jre-headless\`" >&2; exit 1; }; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless; }

status: setup ## per source and destination: last run, rows, newest record, packages, quarantine, freshness
	@$(RUN) $(BIN)/python -m ingestion status

report: setup ## the compression report, and data/report.html: charts of the analyses and the pipeline's health
	@$(RUN) $(BIN)/python -m warehouse report

sql: setup ## an interactive DuckDB SQL shell on the warehouse
	@$(RUN) $(BIN)/python -m warehouse sql

browser: ## Debian's Chromium, which the report's test opens the page in (installed once, as root)
	@command -v chromium >/dev/null || { \
		[ "$$(id -u)" = 0 ] || { echo "error: Chromium is missing: run \`sudo apt-get install chromium\`" >&2; exit 1; }; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

ide: setup ## harlequin, a terminal SQL IDE, on a read-only snapshot of the warehouse
	@$(RUN) $(BIN)/python -m warehouse ide

test: setup $(DEV) $(SPARK) $(DAGSTER) browser java ## the whole test suite, on both cores (starts the servers it needs; never reads .env)
	@$(PYTEST)

test-fast: WORKERS = 3
test-fast: setup $(DEV) $(SPARK) $(DAGSTER) ## the unit, model and ingestion tests: no Spark, browser, binlog servers, bench or clones
	@$(PYTEST) -m "not ($(SLOW_TIERS))"

lint: setup $(DEV) ## ruff (check + format) and sqlfluff
	$(BIN)/ruff check $(PYTHON_CODE)
	$(BIN)/ruff format --check $(PYTHON_CODE)
	@$(RUN) $(BIN)/sqlfluff lint models macros analyses data_tests

docs: setup ## build the dbt docs site: one page, target/static_index.html, to open in a browser
	@$(RUN) $(BIN)/dbt docs generate --static
	@echo "The docs site: file://$(CURDIR)/target/static_index.html (or dbt docs serve, on http://localhost:8080)"

bench: setup $(SPARK) ## the pipeline against its baselines, side by side (BENCH_ROWS=1000000); results in bench/results/
	@$(RUN) $(BIN)/python -m bench

bench-quick: setup $(SPARK) ## the same at 20,000 rows, once (under two minutes)
	@export BENCH_ROWS=$${BENCH_ROWS:-20000} BENCH_REPEATS=$${BENCH_REPEATS:-1}; $(RUN) $(BIN)/python -m bench

schedule: setup ## ingest + dbt build every EVERY (default 3m) or at CRON ("*/5 * * * *"); Ctrl-C stops
	@$(RUN) $(BIN)/python -m warehouse schedule $(if $(CRON),--cron "$(CRON)",--every $(or $(EVERY),3m))

# Dagster reads its instance settings from DAGSTER_HOME, before it imports any code: telemetry is
# turned off there, as dbt's and dlt's are in the environment.
DAGSTER_HOME ?= $(CURDIR)/data/dagster
dagster: setup $(DAGSTER) ## Dagster's UI on http://127.0.0.1:3000: every load and dbt model as an asset (DAGSTER_HOME: data/dagster)
	@mkdir -p "$(DAGSTER_HOME)" && { [ -f "$(DAGSTER_HOME)/dagster.yaml" ] || printf 'telemetry:\n  enabled: false\n' > "$(DAGSTER_HOME)/dagster.yaml"; }
	@export DAGSTER_HOME="$(DAGSTER_HOME)"; $(RUN) $(BIN)/dagster dev -m orchestration.dagster_definitions $(ARGS)

lock: ## re-resolve requirements.lock from pyproject.toml
	rm -rf /tmp/elt-lock-venv && $(PYTHON) -m venv /tmp/elt-lock-venv
	/tmp/elt-lock-venv/bin/pip install --quiet '.[dev,dagster,spark]'
	/tmp/elt-lock-venv/bin/pip freeze --exclude elt-warehouse > requirements.lock

clean: ## remove the venv and everything under data/
	rm -rf $(VENV) data target logs
