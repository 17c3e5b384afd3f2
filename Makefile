# menjin — the two set-up commands are `make demo` and `make test`; everything else serves them.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test bench lint system-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the tests need: Chromium and a CJK font for the browser tests (Playwright cannot
# download its own browser here), Mosquitto for the broker tests (they start their own instances).
system-deps:
	@{ test -x /usr/bin/chromium && fc-list :lang=zh | grep -q . && command -v mosquitto >/dev/null ; } || { \
	  echo "installing Debian chromium, fonts-noto-cjk and mosquitto for the tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk mosquitto >/dev/null; }

demo: $(STAMP)
	$(BIN)/menjin demo

test: $(STAMP) system-deps
	$(BIN)/ruff check menjin tests bench
	$(BIN)/ruff format --check menjin tests bench
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.table --readme README.md

lint: $(STAMP)
	$(BIN)/ruff format menjin tests bench
	$(BIN)/ruff check --fix menjin tests bench

clean:
	rm -rf $(VENV) var bench/out
