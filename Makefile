# One entry point. `make demo` and `make test` work on a fresh machine: each creates
# the virtual environment in .venv first, from the hashed lock (pip, from PyPI only).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The demo's embedded lake lives here unless MAKERATES_HOME says otherwise.
DEMO_HOME ?= $(CURDIR)/.lake

.PHONY: install lock demo test lint typecheck pytest bench clean

LOCK   := requirements/dev.lock

# Installs exactly the hashed lock (Python's bundled pip is enough), then the project
# itself without touching the locked set; pip check catches a lock that lacks something.
# --clear drops a stale venv's leftovers.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Regenerates the lock after a change to pyproject.toml's dependencies (needs PyPI).
lock:
	$(PYTHON) -m venv --clear .venv-uv
	.venv-uv/bin/python -m pip install --quiet 'uv>=0.13,<0.14'
	.venv-uv/bin/uv pip compile pyproject.toml --extra dev --generate-hashes \
	    --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o $(LOCK)
	rm -rf .venv-uv

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

# The suite runs as four pytest processes, each with its own services (tests/run_groups.sh):
# clean-clone runs in one process, and CI's in three, died of a segfault in a native
# (Polars tokio) thread. The cause, found by this script's backtrace: Polars' cloud
# concurrency loop calls getenv every 100 ms after the first S3 read while Python code
# (tests' monkeypatch.setenv, CliRunner's env) calls setenv (see benchmarks/README.md).
# The store no longer reads S3 through Polars (store/scan.py), so that loop never starts;
# the groups stay as a net: the crash file, where it struck most, runs on its own; a
# group that dies of a signal is reported with its native backtrace and run again
# (three runs at most). Every group
# always runs; the first failing status is the result; pytest's exit 5 (no tests
# collected) is reported and fails the run.
CRASH_FILE := tests/integration/test_reliability_crash.py
PYTEST_GROUPS := "tests/integration/test_[a-o]*.py" "$(CRASH_FILE)" \
	"tests/integration/test_[p-z]*.py --deselect $(CRASH_FILE)" tests/unit
pytest: $(STAMP)
	PYTHON_BIN=$(BIN)/python bash tests/run_groups.sh $(PYTEST_GROUPS)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .lake .mypy_cache .ruff_cache .pytest_cache
