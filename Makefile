# The few commands a contributor runs. `make demo` and `make test` are the README's two commands.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo up test unit lint typecheck migrate bench install install-services

$(BIN)/journey: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/journey

demo: install            ## run the whole pipeline on the embedded default with demo traffic
	$(BIN)/journey demo

up: install              ## run the local stack until Ctrl-C
	$(BIN)/journey up

install-services:        ## what the integration tests need from Debian (ClickHouse server, wrk)
	scripts/install-services

test: install install-services   ## the whole suite against real services
	$(BIN)/pytest

unit: install
	$(BIN)/pytest -m "not integration"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

migrate: install
	$(BIN)/journey migrate

bench: install
	scripts/install-services --bench
	$(BIN)/python bench/run_all.py
