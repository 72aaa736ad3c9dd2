"""A scripted engine for the server's edge cases (the real engines are tested against real models)."""

import threading
import time

from fimkit.formats import FimFormat
from fimkit.infer.engines.contract import Engine, SamplingParams, TokenPiece


class ScriptedEngine(Engine):
    """Streams a fixed list of (text, logprob) pieces, optionally slowly; records every prompt."""

    backend = "scripted"

    def __init__(self, pieces=(("x + 1", -0.1),), *, delay=0.0, fim_format="fimkit:psm", n_ctx=2048):
        self.pieces = list(pieces)
        self.delay = delay
        self.name = "scripted-model"
        self.fim_format = FimFormat.parse_spec(fim_format)
        self.n_ctx = n_ctx
        self.prompts: list[str] = []
        self.generated = 0  # tokens produced over the engine's life
        self.running = threading.Event()

    def count_tokens(self, text: str) -> int:
        return (len(text) + 3) // 4

    def _produce(self, gen, prompt, params: SamplingParams, cancel):
        self.prompts.append(prompt)
        stats = gen.stats
        stats.prompt_tokens = self.count_tokens(prompt)
        start = time.perf_counter()
        self.running.set()
        try:
            gen.stop_reason = "eos" if len(self.pieces) < params.max_tokens else "limit"
            for i, (text, lp) in enumerate(self.pieces[: params.max_tokens]):
                if self.delay:
                    time.sleep(self.delay)
                if i == 0:
                    stats.prompt_ms = (time.perf_counter() - start) * 1000
                stats.predicted_tokens += 1
                self.generated += 1
                yield TokenPiece(text, lp, i, ((text, lp),)[: params.top_logprobs])
                if cancel is not None and cancel.is_set():
                    gen.stop_reason = "cancelled"
                    break
        finally:
            self.running.clear()
            stats.predicted_ms = (time.perf_counter() - start) * 1000 - stats.prompt_ms


class BranchingEngine(ScriptedEngine):
    """Middle ``i`` is ``branches[i]`` (token id i); its score is ``scores[text]``."""

    def __init__(self, branches, scores, fim_format="prefix-only"):
        super().__init__(fim_format=fim_format)
        self.branches, self.scores, self.scored = branches, scores, []

    def _produce(self, gen, prompt, params: SamplingParams, cancel):
        i = params.first_token or 0
        gen.stop_reason = "eos"
        gen.stats.predicted_tokens = 1
        ids = tuple(range(len(self.branches)))[: params.top_logprobs]
        yield TokenPiece(self.branches[i], -1.0, i, tuple((self.branches[j], -1.0) for j in ids), ids)

    def score(self, prompt, continuation, *, end=False, cancel=None):
        self.scored.append((continuation, end))
        return self.scores[next(t for t in self.scores if continuation.lstrip(' ').startswith(t))]
