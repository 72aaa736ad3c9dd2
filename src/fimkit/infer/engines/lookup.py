"""Prompt-lookup drafts for greedy decoding (n-gram speculative decoding without a draft model).

Code repeats itself: names, argument lists and whole lines that the model is about to write are
often already in the prompt. So before each decoding step, the tokens that followed the latest
earlier occurrence of the last few generated tokens are proposed as a draft; the model scores the
next token and the whole draft in one batch, and the draft's tokens are kept up to the first one
greedy decoding would not have chosen. It pays where a batch of a few tokens costs little more than
one; on this project's 2-core CPU it did not (1.03x, benchmarks/bench_decode.py), so it is opt-in. The output is plain greedy decoding's, up to the rounding
differences between a batch and a single token (a near-tie can flip either way).
"""

from __future__ import annotations

MIN_NGRAM, MAX_NGRAM = 2, 4
WINDOW = 4096  # history searched, in tokens (the prompt's end and what was generated)


def lookup_draft(history: list[int], max_draft: int) -> list[int]:
    """Up to ``max_draft`` tokens that followed the latest earlier occurrence of the history's last
    n tokens, for n from ``MAX_NGRAM`` down to ``MIN_NGRAM``; [] when none recurs."""
    if max_draft <= 0:
        return []
    h = history[-WINDOW:]
    size = len(h)
    for n in range(MAX_NGRAM, MIN_NGRAM - 1, -1):
        if size <= n:
            continue
        tail = h[-n:]
        last = tail[-1]
        # Scan backwards: the latest occurrence is the likeliest continuation.
        for end in range(size - 2, n - 2, -1):
            if h[end] == last and h[end - n + 1 : end + 1] == tail:
                follow = h[end + 1 : end + 1 + max_draft]
                if follow:
                    return follow
    return []
