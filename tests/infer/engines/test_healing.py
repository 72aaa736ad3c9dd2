"""Token healing: the vocabulary index, the back-off policies, and both engines that heal (llama.cpp on
a tiny GGUF, transformers on a tiny model) re-spelling what the user typed and returning only what
comes after it."""

import random

import pytest

from fimkit.infer.engines.healing import (
    BackOff,
    Healing,
    VocabIndex,
    back_off_for,
    tokens_to_back_off,
)

PIECES = [b"", b"un", b"unk", b"unknown", b"no", b"unkno", b"u", b"n", b"k", b"o", b"w", b"own", b" = ", b"x",
          b"\xff\xff", b"\xffa", b"unknowns"]


def test_allowed_tokens_start_with_the_rest_or_are_a_prefix_of_it():
    index = VocabIndex(PIECES)
    allowed = {PIECES[i] for i in index.allowed(b"unkno")}
    assert allowed == {b"unkno", b"unknown", b"unknowns", b"u", b"un", b"unk"}
    assert {PIECES[i] for i in index.allowed(b"\xff")} == {b"\xff\xff", b"\xffa"}  # no successor to bisect to


def test_the_index_matches_a_linear_scan_on_random_vocabularies():
    rng = random.Random(0)
    alphabet = b"ab.\xff"
    pieces = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(400)]
    index = VocabIndex(pieces)
    for _ in range(300):
        rest = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        expected = {i for i, p in enumerate(pieces) if p and (p.startswith(rest) or rest.startswith(p))}
        assert set(index.allowed(rest)) == expected, rest


def test_healing_consumes_the_rest_and_returns_only_what_follows():
    index = VocabIndex(PIECES)
    h = Healing(index, b"unkno")
    assert h.take(PIECES.index(b"un")) == b"" and h.rest == b"kno" and not h.done
    assert h.take(PIECES.index(b"k")) == b"" and h.rest == b"no"
    assert h.take(PIECES.index(b"no")) == b"" and h.done
    h = Healing(index, b"unkno")
    assert h.take(PIECES.index(b"unknowns")) == b"wns" and h.done


@pytest.mark.parametrize("before, policy, expected", [
    ("self.unkno", "word", BackOff(chars=5, tokens=1)),
    ("self.unkno", "lexeme", BackOff(chars=5, tokens=1)),
    ("self.", "word", BackOff(tokens=1)),
    ("x ==", "lexeme", BackOff(chars=2, tokens=1)),
    ("x ==", "word", BackOff(tokens=1)),
    ("return ", "word", BackOff()),
    ("return ", "2-tokens", BackOff()),
    ("f(a", "2-tokens", BackOff(tokens=2)),
    ("f(a", "1-token", BackOff(tokens=1)),
    ("anything", "off", BackOff()),
    ("", "word", BackOff()),
])
def test_back_off_policies(before, policy, expected):
    assert back_off_for(before, policy) == expected


def test_back_off_counts_whole_tokens_and_stops_at_the_plain_text():
    pieces = [b"self", b".", b"un", b"kno"]
    assert tokens_to_back_off(pieces, 4, BackOff(chars=5, tokens=1)) == 2
    assert tokens_to_back_off(pieces, 4, BackOff(tokens=1)) == 1
    assert tokens_to_back_off(pieces, 4, BackOff(chars=4, tokens=3)) == 3
    assert tokens_to_back_off(pieces, 1, BackOff(chars=5, tokens=1)) == 1  # never past the last sentinel
    assert tokens_to_back_off(pieces, 4, BackOff()) == 0


def _check_spelling(engine, prefix, result):
    """The healing tokens spell the backed-off end of the prompt, and whatever they add after it is
    where the middle starts."""
    backed_off = prefix[len(prefix) - result.stats.healed_chars:].encode()
    spelled = b"".join(engine.vocab_index().pieces[p.token_id] for p in result.pieces if p.healing)
    assert spelled.startswith(backed_off), (spelled, backed_off)
    assert result.raw.encode().startswith(spelled[len(backed_off):].decode("utf-8", "replace").encode())


def _middle(engine, prefix, healing, **kw):
    from fimkit.infer.complete import run_completion
    from fimkit.infer.engines.contract import CompletionRequest, SamplingParams

    request = CompletionRequest(prefix, kw.pop("suffix", "\n"), sampling=SamplingParams(max_tokens=6),
                                healing=healing, parse_check=False, **kw)
    return run_completion(engine, request)


@pytest.fixture(scope="module")
def llama_engine(tiny_fim_gguf):  # the tiny model is built in the test session: slow tests only
    pytest.importorskip("llama_cpp")
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    engine = load_engine(EngineConfig(model=str(tiny_fim_gguf), n_ctx=256, fim_format="prefix-only"))
    yield engine
    engine.close()


@pytest.mark.slow
def test_llama_cpp_heals_a_prompt_that_ends_mid_word(llama_engine):
    engine = llama_engine
    assert engine.can_heal and engine.info().healing  # on by default (the measured "word" policy)
    prefix = "def add(a, b):\n    retu"
    healed = _middle(engine, prefix, "word")
    # 'retu' at least, in whole tokens (a byte-level BPE may hold the space before it in one token)
    assert healed.stats.healed_chars >= 4
    healing_pieces = [p for p in healed.pieces if p.healing]
    assert healing_pieces and all(p.logprob is not None and p.logprob <= 0 for p in healing_pieces)
    _check_spelling(engine, prefix, healed)
    plain = _middle(engine, "def add(a, b):\n    retu", "off")
    assert plain.stats.healed_chars == 0 and not any(p.healing for p in plain.pieces)
    # The prompt it evaluated ends before the word: typing on keeps that prompt, and its cache.
    again = _middle(engine, "def add(a, b):\n    retur", "word")
    assert again.stats.cached_tokens >= again.stats.prompt_tokens - 1


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["fimkit:psm", "fimkit:spm-paper"])
def test_llama_cpp_heals_fim_prompts_too(tiny_fim_gguf, fmt):
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    engine = load_engine(EngineConfig(model=str(tiny_fim_gguf), n_ctx=256, fim_format=fmt, healing="word"))
    try:
        assert engine.info().healing
        result = _middle(engine, "for i in ran", None, suffix="\n    print(i)\n")
        assert result.stats.healed_chars >= 3 and any(p.healing for p in result.pieces)
    finally:
        engine.close()


@pytest.mark.slow
def test_a_warm_up_evaluates_the_backed_off_prompt(llama_engine):
    from fimkit.infer.complete import run_completion
    from fimkit.infer.engines.contract import CompletionRequest, SamplingParams

    prefix = "class Stack:\n    def __init__(self):\n        self.ite"
    run_completion(llama_engine, CompletionRequest(prefix, "\n", sampling=SamplingParams(max_tokens=0), healing="word"))
    result = _middle(llama_engine, prefix + "m", "word")
    assert result.stats.cached_tokens >= result.stats.prompt_tokens - 1


@pytest.mark.slow
def test_transformers_heals_as_llama_cpp_does(tiny_fim_gguf, llama_engine):
    """The same tiny model under both engines: the same healing tokens and the same middle."""
    from fimkit.infer.config import EngineConfig
    from fimkit.infer.engines.choice import load_engine

    engine = load_engine(EngineConfig(model=str(tiny_fim_gguf.parent / "hf"), backend="transformers", n_ctx=256,
                                      fim_format="prefix-only", healing="word"))
    for prefix in ("for i in ran", "def add(a, b):\n    retu", "class Stack:\n    def __init__(self):\n        self.ite"):
        result = _middle(engine, prefix, None)
        assert result.stats.healed_chars > 0
        _check_spelling(engine, prefix, result)
        reference = _middle(llama_engine, prefix, "word")
        assert [p.token_id for p in result.pieces] == [p.token_id for p in reference.pieces]
        assert result.text == reference.text


def test_a_remote_engine_says_it_does_not_heal():
    from fimkit.infer.engines.remote import OpenAIEngine

    engine = OpenAIEngine("http://127.0.0.1:9/v1", "m")
    engine.healing = "word"
    assert not engine.can_heal and not engine.info().healing
