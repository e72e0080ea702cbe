# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean psql

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job on the embedded PostgreSQL (or $PGHOST) and the demo data.
demo: $(STAMP)
	$(BIN)/product-images demo

## pytest: real dbt runs against an embedded PostgreSQL, sqlfluff lint included.
test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/sqlfluff lint models tests

## Benchmarks, not part of `make test` (bench/README.md): about 6 minutes on 2 cores.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf target logs .pgdata $(VENV)
