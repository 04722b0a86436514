# lowbao — the two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate lint format check bench clean

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

# Embedded default: SQLite under var/, Celery eager, demo data and logins printed.
run: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "lowbao 运行于 http://$(HOST):$(PORT)/ （Ctrl-C 停止）"
	$(PY) manage.py runserver $(HOST):$(PORT)

# Whole suite: PostgreSQL when DATABASE_URL is set, otherwise SQLite.
test: install
	$(PY) manage.py makemigrations --check --dry-run --settings=lowbao.settings.test
	$(PY) -m pytest --create-db -p no:randomly $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) bench/run.py

clean:
	rm -rf var/lowbao.sqlite3* var/test.sqlite3 var/static
