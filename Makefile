# fimkit: `make demo` and `make test` each set up everything they need in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# torch is pinned to the CPU build this machine's pip finds locally; installing it before
# the extras keeps pip from pulling a multi-GB CUDA build through transformers or peft.
TORCH  := torch==2.13.0
PYTEST_ARGS ?=

.PHONY: help demo test test-fast test-python test-vscode vsix install install-dev clean

help:
	@echo "make demo       set up .venv, run the quick pipeline (train, merge, GGUF, eval) and show completions"
	@echo "make test       set up .venv with the dev extras and run the test suite (CI runs this)"
	@echo "make test-fast  only the tests that need no model files (seconds)"
	@echo "make vsix       build the VS Code extension package editors/vscode/fimkit.vsix"
	@echo "make clean      remove .venv and build leftovers (keeps \$$FIMKIT_HOME)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# Stamps re-run an install whenever pyproject.toml changes.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[embedded,llama,train,data,eval]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-demo

install: $(VENV)/.installed-demo
install-dev: $(VENV)/.installed-dev

# The seed pipeline on the embedded model (quick preset, ~15 minutes on 2 cores), then one FIM
# completion from the exported GGUF next to the base model's.
demo: $(VENV)/.installed-demo
	$(BIN)/fimkit pipeline --preset quick
	@echo; echo "== the fine-tuned model (the better of its two GGUF files, from pipeline-summary.json)"
	$(BIN)/fimkit demo --model "$$($(BIN)/python -c 'import json; print(json.load(open("pipeline-summary.json"))["fine_tuned"]["gguf"])')"
	@echo; echo "== the base model, prefix-only"
	$(BIN)/fimkit demo

test: test-python test-vscode

test-python: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The VS Code extension: its npm packages come from the npm registry (npm ci, locked).
editors/vscode/node_modules/.installed: editors/vscode/package-lock.json
	cd editors/vscode && npm ci --no-audit --no-fund
	@touch $@

test-vscode: editors/vscode/node_modules/.installed $(VENV)/.installed-dev
	cd editors/vscode && FIMKIT_PYTHON=$(abspath $(BIN)/python) npm test

vsix: editors/vscode/node_modules/.installed
	cd editors/vscode && npm run package
	@echo "built editors/vscode/fimkit.vsix (install: code --install-extension editors/vscode/fimkit.vsix)"

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow and not integration" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache editors/vscode/node_modules editors/vscode/dist editors/vscode/*.vsix
