# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install demo test lint format bench clean

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## install: the virtualenv in .venv with the package, dbt and the dev tools
install: $(STAMP)

## demo: the main job on the embedded PostgreSQL (or $PGHOST) and the demo data
demo: $(STAMP)
	$(BIN)/product-images demo

## test: pytest, with real dbt runs against an embedded PostgreSQL, sqlfluff lint included
test: $(STAMP)
	$(BIN)/pytest

## lint: sqlfluff (models, tests), ruff check, ruff format --check, mypy
lint: $(STAMP)
	$(BIN)/python -m product_images.migration.sql_lint
	$(BIN)/ruff check python bench
	$(BIN)/ruff format --check python bench
	$(BIN)/mypy

## format: ruff's fixes and formatting, in place
format: $(STAMP)
	$(BIN)/ruff check --fix python bench
	$(BIN)/ruff format python bench

## bench: the benchmarks, not part of `make test` (bench/README.md): about 10 minutes on 2 cores
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## clean: remove the virtualenv, dbt's target/ and logs/, the demo's .pgdata/
clean:
	rm -rf target logs .pgdata $(VENV)
