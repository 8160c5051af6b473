# One entry point. `make demo` and `make test` work on a fresh machine: each creates
# the virtual environment in .venv first (pip, from PyPI only).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo's embedded lake lives here unless MAKERATES_HOME says otherwise.
DEMO_HOME ?= $(CURDIR)/.lake

.PHONY: install demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	MAKERATES_HOME="$${MAKERATES_HOME:-$(DEMO_HOME)}" $(BIN)/makerates demo

# ruff, then the import-linter contracts in pyproject.toml (layers, no PyIceberg outside
# the store, pure transforms without I/O).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest exits 5 when it collected no tests: that is reported, not hidden as a pass.
pytest: $(STAMP)
	@$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests"; fi; \
	exit $$status

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .lake .mypy_cache .ruff_cache .pytest_cache
