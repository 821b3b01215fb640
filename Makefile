# Reachly: `make demo` runs the main job, `make test` runs the tests.
# Both set everything up first (virtualenv, packages, Chromium, services, database).

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/reachly

.PHONY: setup venv chromium services db test demo bench lint format requirements clean

setup: venv chromium services db

venv: $(VENV)/.installed

$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/base.txt -r requirements/dev.txt
	touch $@

chromium:
	./scripts/chromium.sh

services:
	./scripts/services.sh

db: venv services
	$(BIN)/python manage.py ensure_database
	$(BIN)/python manage.py migrate --no-input -v 0

test: venv chromium services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: setup
	$(BIN)/python manage.py demo $(DEMO_ARGS)

bench: setup
	$(BIN)/python benchmarks/run_all.py

# Style, the layers (import-linter contracts in pyproject.toml) and types.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

requirements: venv
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements/base.txt requirements/base.in
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements/dev.txt requirements/dev.in

clean:
	rm -rf $(VENV) staticfiles .demo
