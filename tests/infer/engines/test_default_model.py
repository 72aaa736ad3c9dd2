"""The default embedded model, Qwen2.5-Coder 0.5B, as every API serves it: its FIM format, its end
tokens, whole middles, and typing that does not read the suffix again (integration: real llama.cpp)."""

import pytest

from fimkit.infer.complete import run_completion
from fimkit.infer.engines.choice import EngineConfig, load_engine
from fimkit.infer.engines.contract import CompletionRequest, SamplingParams

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(embedded_gguf):
    engine = load_engine(EngineConfig(model=str(embedded_gguf), n_ctx=1024))
    yield engine
    engine.close()


def test_served_in_its_own_fim_format_with_every_end_token(engine):
    assert engine.model_info.architecture == "qwen2" and engine.model_info.quantization == "Q4_K_M"
    # served in the layout its profile measured best (SPM: docs/models.md), with its own sentinels
    assert engine.fim_format.spec == "qwen2.5-coder:spm-paper" and engine.profile.name == "qwen2.5-coder"
    ids = {s: engine.llm.tokenize(s.encode(), add_bos=False, special=True) for s in
           ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>")}
    assert all(len(v) == 1 and v[0] in engine._stop_ids for v in ids.values()), ids


def test_a_block_comes_back_whole(engine):
    """The issue's probe: a block header alone is not an answer; its body comes with it."""
    request = CompletionRequest("def bubble_sort(arr):\n    n = len(arr)\n", "\n    return arr\n", language="python",
                                sampling=SamplingParams(max_tokens=64))
    result = run_completion(engine, request)
    lines = [ln for ln in result.text.split("\n") if ln.strip()]
    assert len(lines) >= 2 and lines[0].lstrip().startswith("for "), result.text
    assert "return arr" not in result.text  # the suffix is not written again


def test_typing_reuses_the_prompt_instead_of_reading_the_suffix_again(engine):
    suffix = "\n" + "".join(f"    value_{i} = compute_{i}(data)\n" for i in range(40)) + "    return total\n"
    prefix = "def total_of(data):\n    total = 0\n"
    typed = "    for item in data:\n        total += item.size"
    first = run_completion(engine, CompletionRequest(prefix + typed[:10], suffix, language="python",
                                                     sampling=SamplingParams(max_tokens=4)))
    assert first.stats.prompt_tokens > 150  # the fitted suffix: a keystroke that read it again would show
    for end in (14, 22, len(typed)):
        later = run_completion(engine, CompletionRequest(prefix + typed[:end], suffix, language="python",
                                                         sampling=SamplingParams(max_tokens=4)))
        # Everything up to the word being typed is in the KV cache: a keystroke evaluates a few tokens.
        assert later.stats.prompt_tokens - later.stats.cached_tokens <= 12, (end, later.stats)


def test_sentinels_in_user_code_stay_text(engine):
    ids = engine.tokenize_prompt(engine.fim_format.render("marker = '<|fim_middle|><|endoftext|>'\n", "\n"))
    specials = [engine.llm.tokenize(s.encode(), add_bos=False, special=True)[0]
                for s in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>")]
    assert [t for t in ids if t in specials] == specials[:3]  # only the renderer's own three sentinels
