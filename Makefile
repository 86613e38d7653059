# Two commands for a fresh machine with only Python 3.11+, pip and make:
#   make run    install, migrate a SQLite file, load the demo data once, serve on 127.0.0.1:8000
#   make test   install, lint, type-check, and run the whole suite (again on PostgreSQL if TEST_DATABASE_URL is set)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-sqlite test-postgres lint openapi bench lock clean

install: $(STAMP)

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

run: install
	$(BIN)/esafety migrate
	$(BIN)/esafety seed-demo --if-empty
	$(BIN)/esafety serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

test: lint test-sqlite test-postgres

test-sqlite: install
	@mkdir -p build
	env -u TEST_DATABASE_URL $(BIN)/pytest -n 2 --junitxml=build/test-sqlite.xml

# Runs only when TEST_DATABASE_URL names a PostgreSQL server (CI sets it); each run makes its own database.
test-postgres: install
	@mkdir -p build
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(BIN)/pytest -n 2 --junitxml=build/test-postgresql.xml; \
	else \
		echo "TEST_DATABASE_URL not set: skipping the PostgreSQL run"; \
	fi

openapi: install
	$(BIN)/esafety openapi --output openapi/openapi.json

bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/contention.py

# Re-resolve the exact pins from pyproject.toml's ranges: the runtime set for the image, then the
# development set constrained to it, so both agree on every shared package.
lock:
	$(PYTHON) -m venv /tmp/esafety-lock && /tmp/esafety-lock/bin/pip install --quiet pip-tools
	/tmp/esafety-lock/bin/pip-compile --quiet --strip-extras --no-annotate \
		--output-file requirements.lock pyproject.toml
	sed -i '/^--/d;/^-e /d' requirements.lock
	/tmp/esafety-lock/bin/pip-compile --quiet --strip-extras --no-annotate --extra dev -c requirements.lock \
		--output-file requirements-dev.lock pyproject.toml
	sed -i '/^--/d;/^-e /d' requirements-dev.lock

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
