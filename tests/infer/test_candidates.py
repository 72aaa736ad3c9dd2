"""Candidate ranking's rules, with an engine whose likelihoods are scripted (the real engine's
scoring and branching are tested in engines/test_llama_cpp.py)."""

import threading

import pytest
from infer.fakes import BranchingEngine, ScriptedEngine

from fimkit.errors import FimkitError
from fimkit.infer.complete import run_completion
from fimkit.infer.config import EngineConfig
from fimkit.infer.engines.choice import _with_budget
from fimkit.infer.engines.contract import CompletionRequest, SamplingParams


def request(n, suffix="\nprint(x)\n", **sampling):
    return CompletionRequest("x = ", suffix, candidates=n, parse_check=False, single_line=True,
                             sampling=SamplingParams(max_tokens=8, **sampling))


def test_the_best_scored_middle_wins_and_the_others_follow_in_order():
    engine = BranchingEngine(["1", "2", "3"], {"1": -5.0, "2": -1.0, "3": -3.0})
    best = run_completion(engine, request(3))
    assert [best.text, *(r.text for r in best.alternatives)] == ["2", "3", "1"]
    assert best.score == -1.0 and best.stats.predicted_tokens == 3
    # prefix-only: each middle (after the blank the prompt held back) is scored with the suffix's
    # start after it, and no end token
    assert (" 1\nprint(x)\n", False) in engine.scored


def test_fim_formats_score_the_end_token_not_the_suffix():
    engine = BranchingEngine(["1", "2"], {"1": -1.0, "2": -2.0}, fim_format="fimkit:psm")
    best = run_completion(engine, request(2))
    # The cursor's line went after the middle sentinel and its blank was held back: the model writes it.
    assert best.text == "1" and engine.scored == [(" 1", True), (" 2", True)]


def test_duplicates_are_scored_once_and_empty_middles_lose():
    engine = BranchingEngine(["a", "a", "\n", "b"], {"a": -9.0, "b": -8.0, "\n": 0.0})
    best = run_completion(engine, request(4))
    assert [best.text, *(r.text for r in best.alternatives)] == ["b", "a", ""]
    assert len(engine.scored) == 2


def test_one_candidate_is_plain_greedy_and_the_engine_default_applies():
    engine = BranchingEngine(["1", "2"], {"1": -9.0, "2": -1.0})
    assert run_completion(engine, request(None)).text == "1" and not engine.scored
    engine.candidates = 2
    assert run_completion(engine, request(None)).text == "2"
    assert run_completion(engine, request(1)).text == "1"  # the request's own choice wins


def test_a_cancelled_call_stops_branching():
    engine = BranchingEngine(["1", "2", "3"], {"1": -5.0, "2": -1.0, "3": -3.0})
    cancel = threading.Event()
    cancel.set()
    best = run_completion(engine, request(3), cancel=cancel)
    assert best.cancelled and not best.alternatives


def test_a_backend_that_cannot_score_refuses_candidates_at_load():
    with pytest.raises(FimkitError, match="candidates 2"):
        _with_budget(ScriptedEngine(), EngineConfig(candidates=2))
    with pytest.raises(FimkitError, match="candidates: expected an integer from 1 to 8"):
        EngineConfig(candidates=9)
