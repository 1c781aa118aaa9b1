# Two commands on a fresh machine with Python 3.11+:  make demo   and   make test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEPS := pyproject.toml constraints.txt

.PHONY: demo serve test lint typecheck pytest system-deps clean

$(BIN)/.installed: $(DEPS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Loopwise needs Python 3.11 or newer; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,ml]'
	touch $@

demo: $(BIN)/.installed
	LOOPWISE_DATA_DIR=$${LOOPWISE_DATA_DIR:-./loopwise-data} $(BIN)/loopwise demo
	LOOPWISE_DATA_DIR=$${LOOPWISE_DATA_DIR:-./loopwise-data} $(BIN)/loopwise serve

serve: $(BIN)/.installed
	$(BIN)/loopwise serve

system-deps:
	@bash scripts/system-deps.sh
	@bash scripts/browser-sdks.sh

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

typecheck: $(BIN)/.installed
	$(BIN)/mypy

pytest: $(BIN)/.installed system-deps
	$(BIN)/python -m pytest -n 2 --durations=15

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
