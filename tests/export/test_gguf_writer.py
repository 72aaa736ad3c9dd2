import pytest

from fimkit.infer.engines.contract import SamplingParams
from fimkit.models import inspect_model, resolve_model

pytestmark = pytest.mark.slow


def test_tiny_llama_gguf_loads_in_llama_cpp_with_fim_tokens(tiny_fim_gguf):
    info = inspect_model(resolve_model(str(tiny_fim_gguf)))
    assert info.architecture == "llama" and info.detection.family.name == "fimkit" and info.detection.layout == "psm"
    from fimkit.infer.engines.llama_cpp import LlamaCppEngine

    engine = LlamaCppEngine(resolve_model(str(tiny_fim_gguf)), n_ctx=256)
    llm = engine.llm
    # The sentinels are single control tokens, and the fim_* keys point at them.
    for s in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"):
        assert len(llm.tokenize(s.encode(), add_bos=False, special=True)) == 1
    ids = engine.tokenize_prompt(engine.fim_format.render("def add(a, b):\n    return ", "\n"))
    text = llm.detokenize(ids[1:]).decode()
    assert "def add(a, b)" in text
    pieces = list(engine.generate(engine.fim_format.render("def f(", ")\n"), SamplingParams(max_tokens=8)))
    assert 0 < len(pieces) <= 8  # a random model writes something; llama.cpp ran it
