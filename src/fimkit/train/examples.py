"""Training examples: token ids and labels from the data formats fimkit writes.

- JSON lines with ``prefix``, ``middle``, ``suffix`` (``fimkit samples``): rendered in the run's FIM
  format. The prompt and the middle are tokenized apart, exactly as the server tokenizes a prompt
  and the model then writes, and the middle ends with the family's EOT so the model learns to stop.
  Too-long examples lose prefix lines from the top and suffix lines from the bottom.
- JSON lines with only ``text`` (``fimkit fim`` output): the text as is; with ``loss: middle`` the
  labels start after the middle sentinel. ``"eos": false`` leaves out the end-of-text token, for a
  piece cut from a longer file (the model must not learn to stop where the cut fell).
- A ``fimkit tokenize`` folder: packed windows of ``seq_len`` tokens, loss on all of them.
Examples are held out by their source file, so evaluation never sees a file training saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from fimkit.data.jsonl import read_lines
from fimkit.data.packed import PackedDataset
from fimkit.errors import FimkitError
from fimkit.formats import FimFormat, sanitizer_for

IGNORE = -100


@dataclass
class Example:
    ids: list[int]
    labels: list[int]
    source: str
    hole: tuple[str, str, str] | None = None  # (prefix, middle, suffix) when known: used for exact match


def is_held_out(source: str, fraction: float, seed: int) -> bool:
    """Whether examples from ``source`` are held out of training (the same answer in every stage)."""
    digest = hashlib.sha256(f"{seed}:{source}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def _hole_example(tok, fmt: FimFormat, prefix: str, middle: str, suffix: str, seq_len: int, loss: str, source: str):
    eot = tok.token_id(fmt.family.eot) if fmt.is_fim else tok.eos_id
    bos = [tok.bos_id] if tok.bos_id is not None else []
    for _ in range(8):
        prompt = bos + tok.encode(fmt.render(prefix, suffix))
        esc = sanitizer_for(fmt.family).escape if fmt.family is not None else (lambda t: t)
        target = tok.encode(esc(middle)) + ([eot] if eot is not None else [])
        if len(prompt) + len(target) <= seq_len:
            ids = prompt + target
            labels = [IGNORE] * len(prompt) + target if loss == "middle" else list(ids)
            return Example(ids, labels, source, (prefix, middle, suffix))
        if len(target) > seq_len // 2:
            return None
        p_lines, s_lines = prefix.split("\n"), suffix.split("\n")
        prefix = "\n".join(p_lines[len(p_lines) // 4 + 1:]) if len(p_lines) > 1 else prefix[len(prefix) // 4:]
        suffix = "\n".join(s_lines[: max(0, len(s_lines) * 3 // 4 - 1)])
    return None


def load_examples(path: str, tok, fmt: FimFormat, *, seq_len: int, loss: str, eval_fraction: float, seed: int,
                  log=None) -> tuple[list[Example], list[Example]]:
    """(train, held-out) examples from ``path`` (see the module docstring)."""
    p = Path(path)
    if p.is_dir() and (p / "tokens.json").is_file():

        ds = PackedDataset(p, seq_len)
        examples = [Example(list(map(int, ds[i])), list(map(int, ds[i])), f"window-{i}") for i in range(len(ds))]
    elif p.is_file():

        examples, skipped = [], []  # (line number, why)
        mid_id = tok.token_id(fmt.family.middle) if fmt.is_fim and fmt.family.middle else None
        for line in read_lines(p):
            r = line.record
            if r is None:
                skipped.append((line.number, f"not a JSON object ({line.error})" if line.error else "not a JSON object"))
                continue
            source = str(r.get("source") or r.get("path") or r.get("id") or f"line-{line.number}")
            if all(isinstance(r.get(k), str) for k in ("prefix", "middle", "suffix")) and r["middle"]:
                ex = _hole_example(tok, fmt, r["prefix"], r["middle"], r["suffix"], seq_len, loss, source)
            elif isinstance(r.get("text"), str):
                ids = ([tok.bos_id] if tok.bos_id is not None else []) + tok.encode(r["text"])[: seq_len - 2]
                ids += [tok.eos_id] if tok.eos_id is not None and r.get("eos", True) is not False else []
                labels = list(ids)
                if loss == "middle" and mid_id in ids:
                    cut = ids.index(mid_id) + 1
                    labels = [IGNORE] * cut + ids[cut:]
                ex = Example(ids, labels, source)
            else:
                skipped.append((line.number, "needs string fields prefix, middle and suffix, or text"))
                continue
            if ex is None:
                skipped.append((line.number, f"empty middle, or longer than seq_len {seq_len}"))
                continue
            examples.append(ex)
        if log and skipped:
            shown = "; ".join(f"line {n}: {why}" for n, why in skipped[:5])
            more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
            log(f"{path}: skipped {len(skipped)} lines ({shown}{more})")
    else:
        raise FimkitError(f"training data {path} not found: pass a JSON lines file (fimkit samples / fimkit fim) "
                          "or a `fimkit tokenize` folder")
    if not examples:
        raise FimkitError(f"{path}: no usable training examples")
    train, held = [], []
    for e in examples:
        (held if is_held_out(e.source, eval_fraction, seed) else train).append(e)
    if not train:
        train, held = examples, []
    return train, held
