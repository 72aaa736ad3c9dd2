"""Reading tokenized memmaps back as packed, fixed-length training sequences.

``PackedDataset`` concatenates every part (in order) into one token stream and cuts it into
``seq_len`` windows, the way causal LMs are pre-trained: no padding, documents separated by
the EOS the tokenizer wrote. Memory is the memmaps, not the corpus.

``ContextFim`` is BigCode's context-level FIM: applied to a packed window after packing,
so a long file is never cut into pieces before it is rearranged. Each document inside the
window (split on EOS) is, with probability ``fim_rate``, decoded, cut at two character
positions, rendered PSM or SPM and re-encoded; the window is then truncated or padded with
the pad sentinel back to its length.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.formats import FimFormat


class PackedDataset:
    def __init__(self, destination: str | Path, seq_len: int):
        import numpy as np

        destination = Path(destination)
        meta_path = destination / "tokens.json"
        if not meta_path.is_file():
            raise FimkitError(f"{destination} has no tokens.json: is it the destination of 'fimkit tokenize'?")
        self.meta = json.loads(meta_path.read_text())
        self.seq_len = seq_len
        parts = sorted(destination.glob("part-*.npy"))
        if not parts:
            raise FimkitError(f"{destination} holds no part-*.npy token files")
        self.maps = [np.memmap(p, dtype=self.meta["dtype"], mode="r") for p in parts]
        self.offsets = np.cumsum([0] + [len(m) for m in self.maps])
        self.total = int(self.offsets[-1])
        self.np = np

    def __len__(self) -> int:
        return self.total // self.seq_len

    def tokens(self, start: int, end: int):
        """Tokens [start, end) of the concatenated stream, across part boundaries."""
        np = self.np
        out = []
        i = int(np.searchsorted(self.offsets, start, side="right") - 1)
        while start < end and i < len(self.maps):
            local = start - int(self.offsets[i])
            take = min(end - start, len(self.maps[i]) - local)
            out.append(np.asarray(self.maps[i][local : local + take]))
            start += take
            i += 1
        return np.concatenate(out) if out else np.zeros(0, dtype=self.meta["dtype"])

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.tokens(index * self.seq_len, (index + 1) * self.seq_len).astype("int64")

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


@dataclass
class ContextFim:
    """Context-level FIM over packed windows (see the module docstring)."""

    tokenizer: object  # fimkit.data.tokenizer.FimTokenizer
    fim_rate: float = 0.5
    psm_rate: float = 0.5
    spm_variant: str = "paper"
    eos_id: int | None = None

    def __post_init__(self):

        family = self.tokenizer.family
        if family is None or family.pad is None:
            raise FimkitError("context-level FIM needs a FIM family with a pad sentinel (e.g. fimkit)")
        self.pad_id = self.tokenizer.token_id(family.pad)
        self.psm = FimFormat(family, "psm")
        self.spm = FimFormat(family, "spm-paper" if self.spm_variant == "paper" else "spm-dolma")
        if self.eos_id is None:
            self.eos_id = self.tokenizer.eos_id

    def apply(self, window, rng: random.Random):
        ids = [int(t) for t in window]
        segments, current = [], []
        for t in ids:
            current.append(t)
            if t == self.eos_id:
                segments.append(current)
                current = []
        if current:
            segments.append(current)
        out: list[int] = []
        for seg in segments:
            ends_with_eos = seg and seg[-1] == self.eos_id
            body = seg[:-1] if ends_with_eos else seg
            if len(body) > 1 and rng.random() < self.fim_rate:
                text = self.tokenizer.decode(body)
                if len(text) >= 2:
                    a, b = sorted(rng.sample(range(len(text) + 1), 2))
                    fmt = self.psm if rng.random() < self.psm_rate else self.spm
                    body = self.tokenizer.encode(fmt.render(text[:a], text[b:], text[a:b]))
            out.extend(body + ([self.eos_id] if ends_with_eos else []))
        n = len(ids)
        return out[:n] + [self.pad_id] * max(0, n - len(out))
