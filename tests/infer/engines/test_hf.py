"""The transformers backend on a tiny HF model, checked token for token against llama.cpp on its GGUF."""

import pytest

from fimkit.infer.complete import run_completion
from fimkit.infer.engines.contract import CompletionRequest, SamplingParams
from fimkit.models import resolve_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engines(tiny_fim_gguf):
    from fimkit.infer.engines.hf import TransformersEngine
    from fimkit.infer.engines.llama_cpp import LlamaCppEngine

    hf = TransformersEngine(resolve_model(str(tiny_fim_gguf.parent / "hf")), n_ctx=256)
    ll = LlamaCppEngine(resolve_model(str(tiny_fim_gguf)), n_ctx=256)
    return hf, ll


def test_fim_format_is_detected_from_the_vocabulary(engines):
    hf, _ = engines
    assert hf.fim_format.spec == "fimkit:psm" and hf.info().backend == "transformers"


@pytest.mark.parametrize("prefix,suffix", [("def add(a, b):\n    return ", "\n"), ("for i in range(", "):\n    print(i)\n")])
def test_greedy_tokens_match_llama_cpp_on_the_exported_gguf(engines, prefix, suffix):
    hf, ll = engines
    prompt = hf.fim_format.render(prefix, suffix)
    assert hf.tok.encode(prompt) == ll.tokenize_prompt(prompt)[1:]  # same tokenization (llama.cpp adds BOS)
    a = [p.token_id for p in hf.generate(prompt, SamplingParams(max_tokens=12))]
    b = [p.token_id for p in ll.generate(prompt, SamplingParams(max_tokens=12))]
    assert a == b


def test_cache_reuse_and_cancellation(engines):
    hf, _ = engines
    req = CompletionRequest("import os\nx = ", "\n", sampling=SamplingParams(max_tokens=4))
    run_completion(hf, req)
    again = run_completion(hf, req)
    assert again.stats.cached_tokens == again.stats.prompt_tokens - 1
    import threading

    cancel = threading.Event()
    n = 0
    for _ in hf.generate("x = ", SamplingParams(max_tokens=50), cancel):
        n += 1
        cancel.set()
    assert n == 1


@pytest.mark.integration
def test_transformers_backend_serves_the_embedded_gguf(gemma_gguf):
    from fimkit.infer.engines.hf import TransformersEngine

    engine = TransformersEngine(resolve_model("gemma-3-270m"), n_ctx=512)
    assert engine.fim_format.spec == "prefix-only"
    result = run_completion(engine, CompletionRequest("def add(a, b):\n    return ", "\n", sampling=SamplingParams(max_tokens=16)))
    assert result.text == "a + b"
