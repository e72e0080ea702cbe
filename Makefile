# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install system demo test lint format bench clean

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

TESSDATA := $(or $(TESSDATA_PREFIX),/usr/share/tesseract-ocr/5/tessdata)

## system: the system packages the price-tag detector needs (libGL for OpenCV, Tesseract's French model), with apt-get as root
system:
	@missing=""; \
	ldconfig -p | grep -q 'libGL\.so\.1' || missing="$$missing libgl1 libglib2.0-0"; \
	[ -f "$(TESSDATA)/fra.traineddata" ] || missing="$$missing tesseract-ocr-fra"; \
	if [ -n "$$missing" ]; then \
		if [ -z "$(TESSDATA_PREFIX)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else \
			echo "Install these system packages first (Debian/Ubuntu: sudo apt-get install$$missing)," \
				"or set TESSDATA_PREFIX to a folder holding fra.traineddata"; \
			exit 1; \
		fi; \
	fi

## demo: the main job on the embedded PostgreSQL (or $PGHOST) and the demo data
demo: $(STAMP) system
	$(BIN)/product-images demo

## test: pytest, with real dbt runs against an embedded PostgreSQL, sqlfluff lint included
test: $(STAMP) system
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
