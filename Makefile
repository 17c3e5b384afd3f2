# menjin — the two set-up commands are `make demo` and `make test`; everything else serves them.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test bench lint format browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here).
browser:
	@command -v /usr/bin/chromium >/dev/null || { \
	  echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); }

demo: $(STAMP)
	$(BIN)/menjin demo

test: $(STAMP) browser
	$(BIN)/ruff check menjin tests bench
	$(BIN)/ruff format --check menjin tests bench
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff format menjin tests bench
	$(BIN)/ruff check --fix menjin tests bench

clean:
	rm -rf $(VENV) var bench/out
