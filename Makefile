SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The tests read this; the machine's PostgreSQL (trust auth) by default.
export HUB_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: .venv install system-deps services lint test-fast test run bench chaos clean
# apt-get in system-deps and in services must never run at the same time (dpkg lock).
.NOTPARALLEL:

# --- the virtual environment: (re)installed only when pyproject.toml changes -----------
.venv: $(STAMP)
install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

# --- what the tests need from outside the venv -------------------------------------------
# Debian packages: chromium + chromium-driver (browser tests), dovecot-imapd (IMAP tests).
# Installed only when missing; one line per dependency: present / installed / MISSING.
system-deps:
	@bash .ci/system-deps.sh

# PostgreSQL on 127.0.0.1:5432 with trust auth and a database `test`: started, or
# installed, when it does not answer; a loud MISSING line (not a failure) when impossible.
services:
	@bash .ci/ensure-postgres.sh

# --- the commands of the README ----------------------------------------------------------
# ruff's rules and exclusions are in pyproject.toml; it checks, it never reformats.
lint: .venv
	$(VENV)/bin/ruff check .

# After each edit: lint and the unit layer only (no process, no socket; tests/conftest.py),
# under a minute, with nothing but the venv: no Debian packages, no PostgreSQL.
test-fast: .venv lint
	$(PY) -m pytest -rs -q -m unit $(PYTEST_ARGS)

# Everything, in one pytest run (the CI reads its last line): unit, integration, browser, in
# that order. Serial on purpose: integration tests share and reset the `test` database.
test: .venv lint system-deps services
	$(PY) -m pytest -rs -q $(PYTEST_ARGS)

# exec: SIGINT/SIGTERM reach contacthub itself (make passes SIGTERM on to its child).
run: .venv
	exec $(VENV)/bin/contacthub run

# The page timings also run on this PostgreSQL database (its own, created when missing; its
# schema is rebuilt), or print MISSING when it does not answer; empty: SQLite only.
BENCH_PAGES_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/pagebench

bench: .venv
	BENCH_PAGES_POSTGRES_URL='$(BENCH_PAGES_POSTGRES_URL)' $(PY) -m bench $(BENCH_ARGS)

# 100,000 messages with a worker SIGKILLed every 30-60 s; counts what was lost (not in make test)
chaos: .venv
	$(PY) -m bench.chaos $(CHAOS_ARGS)

# var/ and caches; keeps .venv, bench/results and tests/artifacts.
clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
