SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export HUB_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test bench clean system-deps services install

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed

# Debian packages the tests drive: Chromium for the browser tests, dovecot as the IMAP server.
system-deps:
	@missing=(); \
	[ -x /usr/bin/chromium ] || missing+=(chromium); \
	[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver); \
	[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd); \
	if [ $${#missing[@]} -eq 0 ]; then echo "system-deps: chromium, chromium-driver, dovecot-imapd present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "system-deps: installing $${missing[*]}"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $${missing[@]} >/dev/null \
	    && echo "system-deps: installed $${missing[*]}" || echo "system-deps: MISSING $${missing[*]} (apt-get failed): the tests that need them will fail"; \
	else echo "system-deps: MISSING $${missing[*]} (not root, no apt-get): the tests that need them will fail"; fi

# PostgreSQL at 127.0.0.1:5432 with database `test`: started or installed when absent.
services:
	@bash deploy/ensure-postgres.sh

run: $(VENV)/.installed
	exec $(VENV)/bin/contacthub run

test: $(VENV)/.installed system-deps services
	$(PY) -m pytest -rs -q $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache bench/results
	find . -name __pycache__ -prune -not -path './$(VENV)/*' -exec rm -rf {} +
