"""The real embedded Gemma-3-270m through llama.cpp (integration: assembles ~250 MB once)."""

import pytest

from fimkit.demo import DEMO_PREFIX, DEMO_SUFFIX
from fimkit.models import resolve_model
from fimkit.serve.llama_engine import GenerationConfig, LlamaCppEngine

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(embedded_gguf):
    return LlamaCppEngine(resolve_model(str(embedded_gguf)), n_ctx=512)


def test_embedded_model_is_served_prefix_only(engine):
    assert engine.info.architecture == "gemma3" and engine.info.quantization == "Q4_K_M"
    assert engine.info.vocab_size == 262144
    assert engine.fim_format.spec == "prefix-only"  # Gemma-3-270m has no FIM tokens


def test_completes_the_demo_hole_without_rewriting_the_suffix(engine):
    c = engine.complete(DEMO_PREFIX, DEMO_SUFFIX, GenerationConfig(max_tokens=32))
    assert c.middle.strip(), c
    assert "__main__" not in c.middle and "\n" not in c.middle.strip()
    assert "fibonacci(" in c.middle  # the recursive call, as a base model writes it
    assert 0 < c.prompt_ms <= c.total_ms and c.completion_tokens > 0


def test_greedy_is_deterministic(engine):
    a = engine.complete("import os\n\npath = os.path.", "\n", GenerationConfig(max_tokens=8))
    b = engine.complete("import os\n\npath = os.path.", "\n", GenerationConfig(max_tokens=8))
    assert a.raw == b.raw


def test_special_strings_in_user_code_stay_text(engine):
    eos, bos = engine.llm.token_eos(), engine.llm.token_bos()
    ids = engine.tokenize_prompt("marker = '<eos>'  # <bos> <start_of_turn>\n")
    assert ids[0] == bos and bos not in ids[1:] and eos not in ids


def test_single_line_config_stops_at_newline(engine):
    c = engine.complete("def f(x):\n    return ", "", GenerationConfig(max_tokens=32, single_line=True))
    assert "\n" not in c.raw


def test_a_fim_format_the_model_cannot_speak_is_refused(embedded_gguf):
    from fimkit.errors import FimkitError
    from fimkit.formats import FimFormat

    with pytest.raises(FimkitError, match="has no token '<\\|fim_prefix\\|>'.*prefix-only"):
        LlamaCppEngine(resolve_model(str(embedded_gguf)), n_ctx=256, fim_format=FimFormat.parse_spec("fimkit:psm"))
