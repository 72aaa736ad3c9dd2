"""Token healing (character prefix conditioning): complete from where the user really stopped typing.

A user stops anywhere, very often mid-word (``self.unkno``). Tokenized as it stands, the prompt ends
in a token the model would rarely have written there (``unk`` + ``no`` where it would write
``unknown``), so it continues off its training distribution. Healing backs the prompt off to a safe
point (the last tokens that could merge with what comes next), then constrains the first generated
tokens so their text spells the removed characters (a token may also run past them), and returns
only what comes after them. Cursor calls this character prefix conditioning; JetBrains' Full Line
Code Completion and guidance call it token healing.

How far to back off is a policy of the completion path (``back_off_chars``, measured in docs/typing.md);
the engine backs off at least that many characters, in whole tokens, never into a special token.
The allowed tokens at each step come from a sorted table of every token's bytes, built once per
model: the tokens that start with what remains are one contiguous range of it (two binary searches),
and the tokens that are a prefix of what remains are at most one exact lookup per remaining byte.
The log-probability a healing step reports is that of the whole allowed set (the chance that the
model writes something consistent with what the user typed), which is what the confidence gate sees.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

POLICIES = ("off", "1-token", "2-tokens", "word", "lexeme")
MAX_BACK_OFF_TOKENS = 8  # never back off more than this: a long word is still healed from its tail
_WORD = re.compile(r"[A-Za-z0-9_]+$")
_OPERATOR = re.compile(r"[^\sA-Za-z0-9_]+$")


@dataclass(frozen=True)
class BackOff:
    """How far an engine backs the prompt off: at least ``chars`` characters and ``tokens`` tokens."""

    chars: int = 0
    tokens: int = 0

    def __bool__(self) -> bool:
        return self.chars > 0 or self.tokens > 0


def back_off_for(before_cursor: str, policy: str) -> BackOff:
    """The back-off a ``policy`` asks for, given the text before the cursor. Nothing after blanks: a
    cursor after a space is on a token boundary already (and the trailing blanks are held back from
    the prompt and healed by shaping, ``postprocess.hold_trailing_blanks``)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown healing policy {policy!r}; choose one of: {', '.join(POLICIES)}")
    if policy == "off" or not before_cursor or before_cursor[-1] in " \t\n":
        return BackOff()
    if policy == "1-token":
        return BackOff(tokens=1)
    if policy == "2-tokens":
        return BackOff(tokens=2)
    word = _WORD.search(before_cursor)
    if word:
        return BackOff(chars=len(word.group()), tokens=1)
    if policy == "lexeme":
        op = _OPERATOR.search(before_cursor)
        return BackOff(chars=len(op.group()) if op else 0, tokens=1)
    return BackOff(tokens=1)


class VocabIndex:
    """Every token's bytes, sorted, for the allowed-token lookups of healing. ``pieces[i]`` is token
    ``i``'s text as bytes; empty for tokens that never spell text (control, unused)."""

    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces
        order = sorted((p, i) for i, p in enumerate(pieces) if p)
        self._keys = [p for p, _ in order]
        self._ids = [i for _, i in order]

    def __len__(self) -> int:
        return len(self.pieces)

    def allowed(self, rest: bytes) -> list[int]:
        """The tokens whose text starts with ``rest`` or is a non-empty prefix of it."""
        lo = bisect.bisect_left(self._keys, rest)
        hi = bisect.bisect_left(self._keys, _successor(rest)) if _successor(rest) else len(self._keys)
        ids = self._ids[lo:hi]
        for k in range(1, len(rest)):
            head = rest[:k]
            at = bisect.bisect_left(self._keys, head)
            while at < len(self._keys) and self._keys[at] == head:
                ids.append(self._ids[at])
                at += 1
        return ids


def _successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with ``prefix``."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class Healing:
    """One generation's constraint: the bytes backed off (``rest``) that the next tokens must spell."""

    def __init__(self, index: VocabIndex, text: bytes):
        self.index = index
        self.rest = text
        self.backed_off = text

    @property
    def done(self) -> bool:
        return not self.rest

    def allowed(self) -> list[int]:
        return self.index.allowed(self.rest)

    def take(self, token: int) -> bytes:
        """Consume ``token``'s text; what it adds beyond the backed-off characters (often nothing)."""
        piece = self.index.pieces[token]
        if len(piece) >= len(self.rest):
            extra, self.rest = piece[len(self.rest):], b""
            return extra
        self.rest = self.rest[len(piece):]
        return b""


def allowed_mass(logits, allowed) -> float:
    """log of the softmax mass of the ``allowed`` token ids in a row of ``logits`` (numpy)."""
    import numpy as np

    top = float(logits.max())
    total = float(np.exp(logits - top).sum())
    mass = float(np.exp(logits[allowed] - top).sum())
    return math.log(mass / total) if mass > 0 else float("-inf")


def tokens_to_back_off(pieces: list[bytes], plain: int, back_off: BackOff) -> int:
    """How many of the last ``plain`` tokens (text, not special tokens) to remove: the fewest that
    hold at least ``back_off.chars`` characters' bytes and number at least ``back_off.tokens``."""
    if not back_off or plain <= 0:
        return 0
    limit = min(plain, MAX_BACK_OFF_TOKENS)
    chars, k = 0, 0
    while k < limit:
        k += 1
        chars += len(pieces[-k].decode("utf-8", "replace"))
        if k >= back_off.tokens and chars >= back_off.chars:
            break
    return k
