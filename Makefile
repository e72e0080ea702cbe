# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install system demo demo-studio test lint format docs bench clean

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
# Fonts of the labels' evaluation and development renderers (labels/evaluation, labels/development).
FONT_PACKAGES := fonts-dejavu-core fonts-liberation2 fonts-urw-base35 fonts-freefont-ttf fonts-comic-neue fonts-noto-core

## system: the system packages, with apt-get as root: libGL for OpenCV and Tesseract's French model (the price-tag detector, required); Chromium (the review page's browser tests) and the fonts of the evaluation and development renderers (the accuracy tests), installed when apt-get can, else the tests that need them skip
system:
	@missing=""; wanted=""; \
	ldconfig -p | grep -q 'libGL\.so\.1' || missing="$$missing libgl1 libglib2.0-0"; \
	[ -f "$(TESSDATA)/fra.traineddata" ] || missing="$$missing tesseract-ocr-fra"; \
	command -v chromium >/dev/null 2>&1 || wanted="$$wanted chromium"; \
	for pkg in $(FONT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'ok installed' || wanted="$$wanted $$pkg"; \
	done; \
	if [ -n "$$missing$$wanted" ] && [ -z "$(TESSDATA_PREFIX)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing $$wanted; \
	elif [ -n "$$missing" ]; then \
		echo "Install these system packages first (Debian/Ubuntu: sudo apt-get install$$missing$$wanted)," \
			"or set TESSDATA_PREFIX to a folder holding fra.traineddata"; \
		exit 1; \
	elif [ -n "$$wanted" ]; then \
		echo "Not installed:$$wanted (the browser and accuracy tests that need them will skip; sudo apt-get install$$wanted)"; \
	fi

## demo: the main job on the embedded PostgreSQL (or $PGHOST) and the demo data
demo: $(STAMP) system
	$(BIN)/product-images-demo run

## demo-studio: the expand/contract worked example (a second app's tables renamed and extended while it runs)
demo-studio: $(STAMP)
	$(BIN)/product-images-demo run --app studio

# make test's workers (pytest-xdist): 2 fits 2 cores (21 min against 34 serially, 2026-12-07); each worker starts
# its own embedded PostgreSQL. TEST_WORKERS=0 runs the suite in this process, as a plain `pytest` does.
TEST_WORKERS ?= 2

## test: pytest on TEST_WORKERS workers (default 2), with real dbt runs against an embedded PostgreSQL, sqlfluff lint included
test: $(STAMP) system
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## lint: sqlfluff (models, tests), the safe-DDL lint of macros/schema_changes, the import contract (production never imports demo/), ruff check, ruff format --check, mypy
lint: $(STAMP)
	$(BIN)/python -m product_images.migration.sql_lint
	$(BIN)/python -m product_images.migration.ddl_lint
	$(BIN)/lint-imports
	$(BIN)/ruff check python bench
	$(BIN)/ruff format --check python bench
	$(BIN)/mypy

## format: ruff's fixes and formatting, in place
format: $(STAMP)
	$(BIN)/ruff check --fix python bench
	$(BIN)/ruff format python bench

## docs: the README's command reference written again from every command's --help (cog)
docs: $(STAMP)
	$(BIN)/cog -r README.md

## bench: the benchmarks, not part of `make test` (bench/README.md): about 12 minutes on 2 cores
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## clean: remove the virtualenv, dbt's target/ and logs/, the demo's .pgdata/
clean:
	rm -rf target logs .pgdata $(VENV)
