"""Reversible neutralisation of sentinel strings that occur in user code.

Code can contain ``<|fim_prefix|>`` as text (this very project does). If it reached a
tokenizer unchanged it would become a control token and could hijack the FIM layout.
We break every occurrence by inserting a WORD JOINER (U+2060) after its first
character, and double any WORD JOINER already present, so the mapping is exactly
reversible: ``unescape(escape(t)) == t`` for every string ``t``, and ``escape(t)``
never contains a sentinel.

Why this shape: inserting the mark *inside* each occurrence (rather than replacing it)
keeps the text readable to the model, and because no sentinel contains the mark, no
window that contains a mark can be a sentinel. Every start position is marked, so
overlapping occurrences are broken too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "\u2060"
_UNESCAPE = re.compile(MARK + "(" + MARK + ")?")


class Sanitizer:
    """Escapes a fixed set of special strings (at least 2 characters each, none containing ``MARK``)."""

    def __init__(self, specials: Iterable[str]):
        specials = tuple(dict.fromkeys(s for s in specials if s))
        for s in specials:
            if len(s) < 2 or MARK in s:
                raise ValueError(f"cannot sanitize special string {s!r}: needs >= 2 chars and no U+2060")
        self.specials = specials
        # One alternation finds any special in a single pass; re's literal-prefix scan makes it
        # about 5x faster than testing each special with `in` on typical code.
        self._any = (
            re.compile("|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))) if specials else None
        )
        # One alternation with lookahead finds every start position, overlapping ones included.
        self._starts = (
            re.compile("(?=(?:" + "|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True)) + "))")
            if specials
            else None
        )

    def needs_escape(self, text: str) -> bool:
        # MARK is tested apart: in the alternation it would defeat the literal-prefix scan.
        return MARK in text or (self._any is not None and self._any.search(text) is not None)

    def escape(self, text: str) -> str:
        if not self.needs_escape(text):
            return text
        text = text.replace(MARK, MARK + MARK)
        if self._starts is None:
            return text
        starts = [m.start() for m in self._starts.finditer(text)]
        if not starts:
            return text
        pieces, last = [], 0
        for start in starts:
            pieces.append(text[last : start + 1])
            pieces.append(MARK)
            last = start + 1
        pieces.append(text[last:])
        return "".join(pieces)

    @staticmethod
    def unescape(text: str) -> str:
        """Inverse of ``escape``; also drops stray single marks a model may have generated."""
        if MARK not in text:
            return text
        return _UNESCAPE.sub(lambda m: m.group(1) or "", text)
