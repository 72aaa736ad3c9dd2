"""Training records of ``fimkit adapt``: the training side of the split, as the JSON lines
``fimkit train`` reads.

Each file is cut at line boundaries into pieces of about ``chunk_chars`` characters (a piece a bit
shorter than the training window, so none is truncated).
- ``next-token``: each piece is plain text, loss on every token; only a file's last piece ends
  with end-of-text, so the model never learns to stop where a cut fell. The model stays
  prefix-only, the way the base is served today, and its adapter needs no new tokens.
- ``fim``: a piece becomes a hole (prefix, middle, suffix: a run of whole lines, as editors ask
  for) with probability ``fim_rate``, otherwise it stays plain text (Bavarian et al. 2022 mix the
  two so left-to-right skill is kept).
- ``accepted``: completions users accepted in their editor (``fimkit serve`` telemetry, opt-in),
  one hole each, added to either objective: real cursors, real middles.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

from fimkit.adapt.split import SourceFile
from fimkit.data.spans import line_span

OBJECTIVES = ("next-token", "fim")


def pieces(text: str, chunk_chars: int) -> list[str]:
    """``text`` in consecutive runs of whole lines of at most about ``chunk_chars`` characters (a
    longer line stays whole); joined, they are ``text`` again."""
    out, current, size = [], [], 0
    for line in text.splitlines(keepends=True):
        if current and size + len(line) > chunk_chars:
            out.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        out.append("".join(current))
    return out


def training_records(files: Iterable[SourceFile], *, objective: str = "next-token", chunk_chars: int = 1400,
                     fim_rate: float = 0.5, seed: int = 0, accepted: Iterable[dict] = ()) -> Iterator[dict]:
    rng = random.Random(seed)
    for f in files:
        source = f"{f.repo}/{f.path}"
        parts = pieces(f.text, chunk_chars)
        for i, text in enumerate(parts):
            if not text.strip():
                continue
            if objective == "fim" and rng.random() < fim_rate and text.count("\n") >= 2:
                start, end = line_span(text, rng)
                if text[start:end].strip():
                    yield {"prefix": text[:start], "middle": text[start:end], "suffix": text[end:],
                           "source": source, "language": f.language}
                    continue
            yield {"text": text, "eos": i == len(parts) - 1, "source": source, "language": f.language}
    for record in accepted:
        if objective == "fim":
            yield record
        else:  # prefix-only: the accepted middle continues its prefix
            yield {"text": record["prefix"][-chunk_chars:] + record["middle"], "eos": False,
                   "source": record["source"], "language": record.get("language")}
