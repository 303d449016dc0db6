# The few commands a contributor runs. `make demo` and `make test` are the README's two commands; `make docs` builds the documentation site.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo up test unit lint typecheck docs migrate bench install install-services constraints

$(BIN)/journey: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,embedded]'
	touch $@

constraints:             ## re-pin constraints.txt from a fresh install of pyproject.toml's ranges
	rm -rf .venv-pin && $(PY) -m venv .venv-pin && .venv-pin/bin/pip install -q -e '.[dev,embedded]'
	{ sed -n '1,3p' constraints.txt; .venv-pin/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt && rm -rf .venv-pin

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
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

docs: install             ## build the documentation site into site/ (strict: broken links fail)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

migrate: install
	$(BIN)/journey migrate

bench: install
	scripts/install-services --bench
	$(BIN)/python bench/run_all.py
