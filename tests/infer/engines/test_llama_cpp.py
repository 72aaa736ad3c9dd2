"""The engine's mechanics on the smallest real model, the embedded Gemma-3-270m through llama.cpp
(integration: assembles ~250 MB once); the default FIM model's own behaviour is in test_default_model."""

import threading

import pytest

from fimkit.demo import DEMO_PREFIX, DEMO_SUFFIX
from fimkit.errors import FimkitError
from fimkit.formats import FimFormat
from fimkit.infer.complete import run_completion
from fimkit.infer.engines.contract import CompletionRequest, SamplingParams
from fimkit.infer.engines.llama_cpp import LlamaCppEngine
from fimkit.models import resolve_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(gemma_gguf):
    return LlamaCppEngine(resolve_model(str(gemma_gguf)), n_ctx=512)


def test_embedded_model_is_served_prefix_only(engine):
    assert engine.model_info.architecture == "gemma3" and engine.model_info.quantization == "Q4_K_M"
    assert engine.model_info.vocab_size == 262144
    assert engine.fim_format.spec == "prefix-only"  # Gemma-3-270m has no FIM tokens


def test_completes_the_demo_hole_without_rewriting_the_suffix(engine):
    r = run_completion(engine, CompletionRequest(DEMO_PREFIX, DEMO_SUFFIX, sampling=SamplingParams(max_tokens=32), language="python"))
    assert r.text.strip() and "__main__" not in r.text and "\n" not in r.text
    assert "fibonacci(" in r.text  # the recursive call, as a base model writes it
    assert r.stats.prompt_ms > 0 and r.stats.predicted_tokens > 0
    assert r.logprobs and all(lp <= 0 for lp in r.logprobs) and r.mean_logprob is not None


def test_greedy_is_deterministic_and_the_cache_is_reused(engine):
    req = CompletionRequest("import os\n\npath = os.path.", "\n", sampling=SamplingParams(max_tokens=8))
    a = run_completion(engine, req)
    b = run_completion(engine, req)
    assert a.raw == b.raw
    # The same prompt again: everything but the last token comes from the KV cache.
    assert b.stats.cached_tokens >= b.stats.prompt_tokens - 1
    typed = run_completion(engine, CompletionRequest("import os\n\npath = os.path.jo", "\n", sampling=SamplingParams(max_tokens=8)))
    assert typed.stats.cached_tokens >= a.stats.prompt_tokens - 2  # typing appends: the prefix is reused


def test_special_strings_in_user_code_stay_text(engine):
    eos, bos = engine.llm.token_eos(), engine.llm.token_bos()
    ids = engine.tokenize_prompt("marker = '<eos>'  # <bos> <start_of_turn>\n")
    assert ids[0] == bos and bos not in ids[1:] and eos not in ids


def test_cancellation_stops_within_one_token(engine):
    cancel = threading.Event()
    seen = []

    def on_delta(text):
        seen.append(text)

    generation = engine.generate("def long_function():\n", SamplingParams(max_tokens=64), cancel)
    n = 0
    for _ in generation:
        n += 1
        if n == 3:
            cancel.set()
    assert n == 3 and generation.stats.predicted_tokens == 3 and generation.stop_reason == "cancelled"


def test_each_call_reports_its_own_stop_reason(engine):
    """Two generations interleaved: each keeps its own stats; nothing is read back from the engine."""
    short = engine.generate("x = 1\n", SamplingParams(max_tokens=2))
    assert len(list(short)) == 2 and short.stop_reason == "limit" and short.stats.predicted_tokens == 2
    closed = engine.generate("y = 2\n", SamplingParams(max_tokens=8))
    next(closed)
    closed.close()
    assert closed.stop_reason == "closed" and short.stats.predicted_tokens == 2


def test_a_fim_format_the_model_cannot_speak_is_refused(gemma_gguf):
    with pytest.raises(FimkitError, match="has no token '<\\|fim_prefix\\|>'.*prefix-only"):
        LlamaCppEngine(resolve_model(str(gemma_gguf)), n_ctx=256, fim_format=FimFormat.parse_spec("fimkit:psm"))


def test_a_warm_up_fills_the_cache_without_generating(engine):
    prefix = "import os\n\n\ndef list_python_files(root):\n    out = []\n    for name in os.listdir(root):\n        "
    warm = run_completion(engine, CompletionRequest(prefix, "\n", sampling=SamplingParams(max_tokens=0)))
    assert warm.text == "" and warm.stats.predicted_tokens == 0 and warm.stats.prompt_tokens > 20
    real = run_completion(engine, CompletionRequest(prefix, "\n", sampling=SamplingParams(max_tokens=8)))
    assert real.stats.cached_tokens >= real.stats.prompt_tokens - 1  # only the last token is evaluated again


def test_top_logprobs_are_the_likeliest_tokens(engine):
    generation = engine.generate("def add(a, b):\n    return a +", SamplingParams(max_tokens=2, top_logprobs=3))
    first = next(generation)
    generation.close()
    assert len(first.top) == 3 and first.top[0][1] >= first.top[1][1] >= first.top[2][1]
    assert abs(first.top[0][1] - first.logprob) < 1e-4  # greedy: the chosen token is the likeliest


def test_going_back_to_a_file_resumes_from_its_saved_state(gemma_gguf):
    engine = LlamaCppEngine(resolve_model(str(gemma_gguf)), n_ctx=512, prompt_caches=2)
    file_a = "".join(f"def handler_{i}(request):\n    return respond(request, {i})\n\n" for i in range(12)) + "def handler_x(request):\n    return "
    file_b = "".join(f"CONSTANT_{i} = '{i}' * {i}\n" for i in range(40)) + "TOTAL = "
    req_a = CompletionRequest(file_a, "\n", sampling=SamplingParams(max_tokens=8))
    first = run_completion(engine, req_a)
    run_completion(engine, CompletionRequest(file_b, "\n", sampling=SamplingParams(max_tokens=8)))
    again = run_completion(engine, req_a)
    assert first.stats.prompt_tokens > 128 and engine.states.restores == 1
    assert again.stats.cached_tokens >= again.stats.prompt_tokens - 1  # nothing of file A evaluated again
    assert again.raw == first.raw  # the restored cache gives the same greedy tokens
    off = LlamaCppEngine(resolve_model(str(gemma_gguf)), n_ctx=512, prompt_caches=0)
    run_completion(off, req_a)
    run_completion(off, CompletionRequest(file_b, "\n", sampling=SamplingParams(max_tokens=8)))
    assert run_completion(off, req_a).stats.cached_tokens < 8  # without saved states: from scratch
    engine.close()
    off.close()
    # One saved state: saving file B's state evicts file A's, which is being restored (this crashed).
    one = LlamaCppEngine(resolve_model(str(gemma_gguf)), n_ctx=512, prompt_caches=1)
    run_completion(one, req_a)
    run_completion(one, CompletionRequest(file_b, "\n", sampling=SamplingParams(max_tokens=8)))
    back = run_completion(one, req_a)
    assert back.raw == first.raw and back.stats.cached_tokens >= back.stats.prompt_tokens - 1
    assert len(one.states.entries) == 1 and one.states.restores == 1
    one.close()


def test_lookup_decoding_gives_the_tokens_of_plain_greedy_decoding(gemma_gguf):
    """Code that repeats its context: drafts are proposed and kept, and the output is unchanged."""
    model = resolve_model(str(gemma_gguf))
    fast = LlamaCppEngine(model, n_ctx=512, lookup_decoding=True)
    plain = LlamaCppEngine(model, n_ctx=512, lookup_decoding=False)
    prefix = ("ROUTES = {\n" + "".join(f'    "/api/v1/items/{i}": handlers.get_item_{i},\n' for i in range(8))
              + '    "/api/v1/items/8": handlers.')
    params = SamplingParams(max_tokens=40, top_logprobs=2)
    gen = fast.generate(prefix, params)
    a = list(gen)
    b = list(plain.generate(prefix, params))
    assert [p.token_id for p in a] == [p.token_id for p in b] and len(a) > 10
    # A batch of several tokens is computed with other kernels than one token: close, not bit-identical.
    assert max(abs(x.logprob - y.logprob) for x, y in zip(a, b)) < 0.1
    assert [t for t, _ in a[3].top] == [t for t, _ in b[3].top]
    assert gen.stats.drafted_tokens > 0 and gen.stats.accepted_tokens > 0
    fast.close()
    plain.close()


def test_score_is_the_likelihood_greedy_decoding_reports(engine):
    prompt = "def add(a, b):\n    return a +"
    pieces = list(engine.generate(prompt, SamplingParams(max_tokens=4)))
    text = "".join(p.text for p in pieces)
    score = engine.score(prompt, text)
    assert score == pytest.approx(sum(p.logprob for p in pieces), abs=0.3)  # batch vs one token: close
    assert score > engine.score(prompt, " lambda: import(")  # nonsense is less likely
    assert engine.score(prompt, text, end=True) < score  # the end token adds a (negative) term


def test_a_branch_starts_with_the_given_token_and_continues_greedily(engine):
    prompt = "def add(a, b):\n    return a +"
    first = next(iter(engine.generate(prompt, SamplingParams(max_tokens=1, top_logprobs=3))))
    assert first.top_ids[0] == first.token_id and len(first.top_ids) == 3
    branch = list(engine.generate(prompt, SamplingParams(max_tokens=3, first_token=first.top_ids[1])))
    assert branch[0].token_id == first.top_ids[1]
    assert branch[0].logprob == pytest.approx(first.top[1][1], abs=0.3)


def test_ranked_candidates_are_distinct_scored_and_best_first(engine):
    prefix = "import os\n\n\ndef config_path(name):\n    home = os.path.expanduser('~')\n    return "
    req = CompletionRequest(prefix, "\n\n\nprint(config_path('app'))\n", language="python",
                            sampling=SamplingParams(max_tokens=24), candidates=3)
    best = run_completion(engine, req)
    ranked = [best, *best.alternatives]
    assert 2 <= len(ranked) <= 3 and len({r.text for r in ranked}) == len(ranked)
    scores = [r.score for r in ranked if r.text.strip()]
    assert scores == sorted(scores, reverse=True) and best.score == max(scores)
    assert best.stats.predicted_tokens >= sum(len(r.tokens) for r in ranked)  # the stats cover the whole call
    plain = run_completion(engine, CompletionRequest(req.prefix, req.suffix, language="python",
                                                     sampling=req.sampling))
    assert plain.text in {r.text for r in ranked}  # the greedy middle is one of the candidates
