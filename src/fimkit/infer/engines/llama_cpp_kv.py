"""The in-process engine's KV cache: the common token prefix of consecutive prompts is kept, long
prompts are evaluated a batch at a time so a cancel lands within one, and live caches worth keeping are
saved as llama.cpp states (``prompt_cache.PromptStates``) and loaded again when a prompt comes back
to them (a user who returns to a file they left).

A mixin of ``LlamaCppEngine``: it works on the engine's ``llm`` (llama-cpp-python's ``Llama``), ``_llama``
(the low-level binding) and ``states``.
"""

from __future__ import annotations

import threading

# Prompts shorter than this are cheap to evaluate again (~0.3 s on 2 cores): not worth a saved state.
MIN_SAVED_TOKENS = 128
# Prompt tokens evaluated between two looks at the cancel event: ~0.4 s on 2 cores, so a completion
# that aborts a warm-up waits at most that long; 900 tokens took 2.81 s in chunks of 128 against
# 2.78 s in llama.cpp's batches of 512 (the difference is noise).
EVAL_CHUNK = 128


class KvCache:
    def _save_live(self) -> None:
        """Copy the live KV cache into the saved states, unless one already holds it."""
        llm = self.llm
        live = [int(t) for t in llm._input_ids[: llm.n_tokens]]
        if len(live) < MIN_SAVED_TOKENS or self.states.covers(live):
            return
        import ctypes

        ctx = llm._ctx.ctx
        size = self._llama.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        n = self._llama.llama_state_seq_get_data(ctx, buf, size, 0)
        if 0 < n <= size:
            self.states.add(live, ctypes.string_at(buf, n))

    def _resume(self, tokens: list[int]) -> None:
        """Before ``tokens`` overwrite the live cache: save it if much would be lost, and load the
        saved state that shares the most with ``tokens`` when it beats the live cache."""
        if not self.states.limit:
            return
        llm = self.llm
        live = self.cached_prefix(tokens)
        entry, shared = self.states.best(tokens)
        if llm.n_tokens - live >= MIN_SAVED_TOKENS:
            self._save_live()
        if entry is None or shared <= live + MIN_SAVED_TOKENS // 4:
            return
        import ctypes

        data = (ctypes.c_uint8 * len(entry.data)).from_buffer_copy(entry.data)
        if self._llama.llama_state_seq_set_data(llm._ctx.ctx, data, len(entry.data), 0) != len(entry.data):
            llm.reset()  # the state did not load: start from nothing rather than from garbage
            return
        llm.input_ids[: len(entry.tokens)] = entry.tokens
        llm.n_tokens = len(entry.tokens)
        self.states.touch(entry)

    def _evaluate(self, tokens: list[int], cancel: threading.Event | None) -> bool:
        """Evaluate ``tokens`` into the KV cache (reusing its common prefix) one batch at a time, so a
        cancel stops a long prompt within a batch. False when cancelled."""
        llm = self.llm
        n = self.cached_prefix(tokens)
        llm.n_tokens = n
        batch = max(1, min(llm.n_batch, EVAL_CHUNK))
        for i in range(n, len(tokens), batch):
            if cancel is not None and cancel.is_set():
                return False
            llm.eval(tokens[i:i + batch])
        return True

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` are already in the KV cache."""
        n = 0
        for a, b in zip(self.llm._input_ids[: self.llm.n_tokens], tokens):
            if a != b:
                break
            n += 1
        return n

    def _decode(self, batch: list[int]):
        """Evaluate ``batch`` after the cached tokens; the logits of every position, one row each."""
        import numpy as np

        llm = self.llm
        n = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, n, -1)
        llm._batch.set_batch(batch, n_past=n, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n : n + len(batch)] = batch
        llm.n_tokens = n + len(batch)
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(batch), llm.n_vocab()))
