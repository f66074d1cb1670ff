# Every target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck unit bench soak contract clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/apikley-mock serve --host $(HOST) --port $(PORT)

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run

# The mock under fault (a few minutes; not part of make test): make soak [SOAK_ARGS="--seed N"]
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

# make contract BASE_URL=https://api.apikley.ru API_KEY=... PROFILE=real
PROFILE ?= mock
contract: $(STAMP)
	@test -n "$(BASE_URL)" -a -n "$(API_KEY)" || { echo "usage: make contract BASE_URL=... API_KEY=... [PROFILE=real]"; exit 2; }
	$(BIN)/apikley-contract run --base-url "$(BASE_URL)" --api-key "$(API_KEY)" --profile $(PROFILE)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
