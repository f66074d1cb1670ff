# Every target sets itself up: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck unit browser redis wiremock screenshots bench soak contract clean

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

unit: $(STAMP) browser redis
	$(BIN)/pytest -q

# The browser tests drive the distribution's Chromium (Playwright never downloads its own).
# As root on Debian/Ubuntu it is installed here; elsewhere install it yourself (or set
# APIKLEY_TESTS_CHROMIUM), or the browser tests skip (CI fails instead: .ci/run).
browser:
	@command -v chromium >/dev/null || test -n "$$APIKLEY_TESTS_CHROMIUM" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Chromium for the browser tests (apt-get install chromium)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: no Chromium found and not root: the browser tests will skip"; fi; }

# The Redis tests start the distribution's redis-server (pytest-redis, a free loopback port).
# As root on Debian/Ubuntu it is installed here; elsewhere install it yourself, or the Redis
# tests skip (CI fails instead: .ci/run).
redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing redis-server for the Redis tests (apt-get install redis-server)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "note: no redis-server found and not root: the Redis tests will skip"; fi; }

# WireMock's standalone jar (for `make bench` to compare), from the npm `wiremock` package.
wiremock:
	@ls .cache/wiremock/package/build/wiremock-standalone-*.jar >/dev/null 2>&1 || { \
	  if command -v npm >/dev/null && command -v java >/dev/null; then \
	    mkdir -p .cache/wiremock && cd .cache/wiremock && npm pack --silent wiremock@3 >/dev/null && \
	    tar xzf wiremock-*.tgz && rm -f wiremock-*.tgz || echo "note: could not fetch WireMock: bench runs without it"; \
	  else echo "note: no npm or java: the bench runs without WireMock"; fi; }

# Retake the README's screenshots (docs/*.png) from the browser tests.
screenshots: $(STAMP) browser
	APIKLEY_TESTS_SCREENSHOTS=docs $(BIN)/pytest -q tests/browser -k screenshots

bench: $(STAMP) wiremock
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
