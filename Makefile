# Two commands do all set-up on a fresh machine:
#   make run    creates .venv, installs, migrates, loads demo data and serves (on http://127.0.0.1:8080 unless
#               HOST/PORT say otherwise: the address is printed)
#   make test   creates .venv, installs and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# pytest-xdist workers (each has its own databases; under Redis, its own Redis DB: the given one and those below)
PYTEST_WORKERS ?= 2

.PHONY: install run chat demo test lint format bench clean constraints

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/motcua db upgrade
	$(BIN)/motcua demo
	$(BIN)/motcua serve  # prints the address it really listens on (HOST, PORT) and the dashboard's

chat: install
	$(BIN)/motcua chat

test: install
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers knowledge storage benchmarks

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The image's pinned runtime dependencies: pip resolves the package's dependencies, pinned to this venv's versions.
constraints: install
	$(BIN)/python -m pip install --quiet --dry-run --ignore-installed --report $(VENV)/resolve.json .
	$(BIN)/python deploy/constraints.py $(VENV)/resolve.json > deploy/constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
