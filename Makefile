# fimkit: `make demo` and `make test` each set up everything they need in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# torch is pinned to the CPU build this machine's pip finds locally; installing it before
# the extras keeps pip from pulling a multi-GB CUDA build through transformers or peft.
TORCH  := torch==2.13.0
PYTEST_ARGS ?=
# llama.cpp is compiled for this machine's CPU (-march=native), except AMX: CPUs whose hypervisor
# advertises AMX tiles without letting a process use them die with SIGILL at the first matrix
# multiply. The wheel is built once into WHEELS (outside the clone, so CI and later checkouts reuse
# it) and installed from there; pip's own cache may hold a wheel built without these flags.
LLAMA      := llama-cpp-python==0.3.36
NO_AMX     := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
WHEELS     ?= $(HOME)/.cache/fimkit-wheels/llama-noamx

.PHONY: help demo test test-fast test-python test-vscode lint fix vsix install install-dev clean

help:
	@echo "make demo       set up .venv, run the quick pipeline (train, merge, GGUF, eval) and show completions"
	@echo "make test       set up .venv with the dev extras and run the test suite (CI runs this)"
	@echo "make test-fast  only the tests that need no model files (seconds)"
	@echo "make lint       ruff over src, tests and benchmarks (part of make test); make fix applies its fixes"
	@echo "make vsix       build the VS Code extension package editors/vscode/fimkit.vsix"
	@echo "make clean      remove .venv and build leftovers (keeps \$$FIMKIT_HOME)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

$(WHEELS)/.built: | $(BIN)/python
	@echo "building llama-cpp-python for this CPU (about 10 minutes on 2 cores, once per machine)"
	CMAKE_ARGS='-DCMAKE_C_FLAGS="$(NO_AMX)" -DCMAKE_CXX_FLAGS="$(NO_AMX)"' \
		$(PIP) wheel --quiet --no-cache-dir --no-deps -w $(WHEELS) '$(LLAMA)'
	@touch $@

# Stamps re-run an install whenever pyproject.toml changes.
$(VENV)/.installed-demo: pyproject.toml $(WHEELS)/.built | $(BIN)/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-*.whl
	$(PIP) install --quiet --find-links $(WHEELS) -e '.[embedded,llama,train,data,eval]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(WHEELS)/.built | $(BIN)/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-*.whl
	$(PIP) install --quiet --find-links $(WHEELS) -e '.[dev]'
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

test-python: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Ruff's rules are in pyproject.toml ([tool.ruff]); `make fix` applies its safe fixes.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

fix: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests benchmarks

# The VS Code extension: its npm packages come from the npm registry (npm ci, locked).
editors/vscode/node_modules/.installed: editors/vscode/package-lock.json
	cd editors/vscode && npm ci --no-audit --no-fund
	@touch $@

test-vscode: editors/vscode/node_modules/.installed $(VENV)/.installed-dev
	cd editors/vscode && FIMKIT_PYTHON=$(abspath $(BIN)/python) npm test

vsix: editors/vscode/node_modules/.installed
	cd editors/vscode && npm run package
	@echo "built editors/vscode/fimkit.vsix (install: code --install-extension editors/vscode/fimkit.vsix)"

test-fast: lint
	$(BIN)/python -m pytest -m "not slow and not integration" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache editors/vscode/node_modules editors/vscode/dist editors/vscode/*.vsix
