"""Rendering FIM strings (PSM, both SPM variants, prefix-only) and parsing them back.

All renderers are pure functions of (family, prefix, suffix, middle). User text is
always passed through the family's sanitizer first, so code that contains a sentinel
as text can never produce a control token. With ``middle=None`` the result is a
serving prompt that ends where the model must start writing the middle; with a
middle it is a training string, optionally closed by the family's EOT.

Layouts:
    psm        PRE prefix SUF suffix MID middle [EOT]
    spm-paper  PRE SUF suffix MID prefix middle [EOT]   (Bavarian et al. 2022, BigCode Megatron)
    spm-dolma  SUF suffix PRE prefix MID middle [EOT]   (allenai/dolma contrib/fill-in-middle)
    prefix-only  prefix middle                           (models without FIM tokens)

spm-paper (and Codestral's middle-less spm-dolma) place the middle right after the
prefix with nothing between them, so a parser cannot tell where the prefix ends from
the string alone: ``parse`` returns ``prefix=None`` and the concatenation in
``middle`` unless the caller gives ``prefix_len``. The document
(``prefix + middle + suffix``) is always recovered exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fimkit.errors import FimkitError, UnknownFormatError
from fimkit.formats.registry import FIM_LAYOUTS, FimFamily, check_layout, get_family
from fimkit.formats.sanitize import Sanitizer


class FimParseError(FimkitError):
    """A string that does not have the structure of the given FIM format."""


@lru_cache(maxsize=64)
def sanitizer_for(family: FimFamily) -> Sanitizer:
    return Sanitizer(family.sentinels())


def _esc(family: FimFamily, text: str, sanitize: bool = True) -> str:
    return sanitizer_for(family).escape(text) if sanitize else text


def _tail(family: FimFamily, middle: str | None, eot: bool, sanitize: bool) -> str:
    if middle is None:
        return ""
    return _esc(family, middle, sanitize) + (family.eot if eot else "")


def _joined(family: FimFamily, prefix: str, middle: str | None, eot: bool, sanitize: bool) -> str:
    if middle is None:
        return _esc(family, prefix, sanitize)
    return _esc(family, prefix + middle, sanitize) + (family.eot if eot else "")


def render_psm(family: FimFamily, prefix: str, suffix: str, middle: str | None = None, *, eot: bool = False,
               sanitize: bool = True) -> str:
    """PRE prefix SUF suffix MID [middle [EOT]].

    ``sanitize=False`` is for callers that already know the text holds no sentinel and no U+2060
    (``Sanitizer.needs_escape`` was False for the whole document): it saves rescanning each part.
    """
    if not family.middle:
        raise UnknownFormatError(f"FIM family '{family.name}' has no middle sentinel, so it cannot render psm")
    return (
        family.emit("prefix") + _esc(family, prefix, sanitize)
        + family.emit("suffix") + _esc(family, suffix, sanitize)
        + family.emit("middle") + _tail(family, middle, eot, sanitize)
    )


def render_spm_paper(
    family: FimFamily, prefix: str, suffix: str, middle: str | None = None, *, eot: bool = False,
    sanitize: bool = True,
) -> str:
    """PRE SUF suffix MID prefix [middle [EOT]]: typing appends to the end, so the KV cache survives."""
    # Prefix and middle touch, so they are escaped as one text: a sentinel split across the
    # boundary ("<|fim_mi" + "ddle|>") must not reappear when they are joined.
    return (
        family.emit("prefix") + family.emit("suffix") + _esc(family, suffix, sanitize)
        + family.emit("middle") + _joined(family, prefix, middle, eot, sanitize)
    )


def render_spm_dolma(
    family: FimFamily, prefix: str, suffix: str, middle: str | None = None, *, eot: bool = False,
    sanitize: bool = True,
) -> str:
    """SUF suffix PRE prefix MID [middle [EOT]] (Codestral: the same without MID)."""
    if not family.middle:  # Codestral: the middle follows the prefix directly
        return (family.emit("suffix") + _esc(family, suffix, sanitize) + family.emit("prefix")
                + _joined(family, prefix, middle, eot, sanitize))
    return (
        family.emit("suffix") + _esc(family, suffix, sanitize)
        + family.emit("prefix") + _esc(family, prefix, sanitize)
        + family.emit("middle") + _tail(family, middle, eot, sanitize)
    )


def render_prefix_only(prefix: str, middle: str | None = None) -> str:
    """The fallback for models without FIM tokens: plain left-to-right text."""
    return prefix + (middle or "")


_RENDERERS = {"psm": render_psm, "spm-paper": render_spm_paper, "spm-dolma": render_spm_dolma}


@dataclass(frozen=True)
class FimParts:
    """The pieces of a parsed FIM string. ``prefix`` is None when the layout hides the prefix/middle
    boundary (see the module docstring); ``middle`` then holds prefix + middle."""

    prefix: str | None
    suffix: str
    middle: str | None
    eot: bool = False

    @property
    def document(self) -> str:
        return (self.prefix or "") + (self.middle or "") + self.suffix


@dataclass(frozen=True)
class FimFormat:
    """A family plus a layout: what a run folder records and what every stage renders with."""

    family: FimFamily | None
    layout: str

    def __post_init__(self):
        check_layout(self.layout)
        if self.layout in FIM_LAYOUTS and self.family is None:
            raise UnknownFormatError(f"layout '{self.layout}' needs a FIM family")

    @classmethod
    def parse_spec(cls, spec: str) -> FimFormat:
        """'fimkit:spm-paper', 'starcoder' (its default layout) or 'prefix-only'."""
        spec = spec.strip()
        if spec == "prefix-only":
            return cls(None, "prefix-only")
        name, _, layout = spec.partition(":")
        family = get_family(name)
        return cls(family, check_layout(layout) if layout else family.default_layout)

    @property
    def spec(self) -> str:
        return "prefix-only" if self.family is None else f"{self.family.name}:{self.layout}"

    @property
    def is_fim(self) -> bool:
        return self.layout != "prefix-only"

    def render(self, prefix: str, suffix: str, middle: str | None = None, *, eot: bool = False,
               sanitize: bool = True) -> str:
        if self.layout == "prefix-only":
            text = render_prefix_only(prefix, middle)
            return _esc(self.family, text, sanitize) if self.family is not None else text
        return _RENDERERS[self.layout](self.family, prefix, suffix, middle, eot=eot, sanitize=sanitize)

    def parse(self, text: str, *, prefix_len: int | None = None) -> FimParts:
        if self.layout == "prefix-only":
            raise FimParseError("a prefix-only string has no structure to parse")
        return parse(text, self.family, self.layout, prefix_len=prefix_len)

    def stop_strings(self) -> tuple[str, ...]:
        return self.family.stop_strings() if self.family is not None else ()


def _take(text: str, token: str, pos: int, what: str) -> int:
    if not text.startswith(token, pos):
        found = text[pos : pos + 20]
        raise FimParseError(f"expected {token!r} ({what}) at character {pos}, found {found!r}")
    return pos + len(token)


def _until(text: str, family: FimFamily, role: str, pos: int) -> tuple[str, int]:
    """Text from ``pos`` up to the emitted form of ``role``; returns (raw text, position after it)."""
    bare = getattr(family, role)
    emitted = family.emit(role)
    at = text.find(bare, pos)
    if at < 0:
        raise FimParseError(f"missing {bare!r} after character {pos}")
    start = at - emitted.index(bare)
    if start < pos or not text.startswith(emitted, start):
        raise FimParseError(f"{bare!r} at character {at} is not written as {emitted!r}")
    return text[pos:start], start + len(emitted)


def parse(text: str, family: FimFamily, layout: str, *, prefix_len: int | None = None) -> FimParts:
    """Inverse of the renderers: exact prefix, suffix and middle (unescaped), and whether EOT closed it."""
    check_layout(layout)
    unesc = Sanitizer.unescape
    eot = bool(family.eot) and text.endswith(family.eot)
    body = text[: len(text) - len(family.eot)] if eot else text

    if layout == "psm":
        pos = _take(body, family.emit("prefix"), 0, "prefix sentinel")
        prefix, pos = _until(body, family, "suffix", pos)
        suffix, pos = _until(body, family, "middle", pos)
        return FimParts(unesc(prefix), unesc(suffix), unesc(body[pos:]), eot)

    if layout == "spm-paper":
        pos = _take(body, family.emit("prefix"), 0, "prefix sentinel")
        pos = _take(body, family.emit("suffix"), pos, "suffix sentinel")
        suffix, pos = _until(body, family, "middle", pos) if family.middle else (body[pos:], len(body))
        joined = body[pos:]
    elif layout == "spm-dolma":
        pos = _take(body, family.emit("suffix"), 0, "suffix sentinel")
        suffix, pos = _until(body, family, "prefix", pos)
        if family.middle:
            prefix, pos = _until(body, family, "middle", pos)
            return FimParts(unesc(prefix), unesc(suffix), unesc(body[pos:]), eot)
        joined = body[pos:]
    else:
        raise FimParseError(f"layout {layout!r} cannot be parsed")

    # The prefix/middle boundary is not in the string: escaping can change lengths, so split
    # the unescaped text where the caller says the prefix ends.
    joined = unesc(joined)
    if prefix_len is None:
        return FimParts(None, unesc(suffix), joined, eot)
    if not 0 <= prefix_len <= len(joined):
        raise FimParseError(f"prefix_len {prefix_len} is outside the {len(joined)} characters after the middle")
    return FimParts(joined[:prefix_len], unesc(suffix), joined[prefix_len:], eot)


def split_specials(text: str, family: FimFamily | None) -> list[tuple[str, bool]]:
    """Split a rendered string into (piece, is_sentinel) so that a tokenizer can encode sentinels as
    control tokens and everything else as plain text. User text was escaped when rendered, so every
    sentinel found here was put there by a renderer."""
    if family is None or not text:
        return [(text, False)] if text else []
    import re

    pattern = re.compile("(" + "|".join(re.escape(s) for s in sorted(family.sentinels(), key=len, reverse=True)) + ")")
    out: list[tuple[str, bool]] = []
    for i, piece in enumerate(pattern.split(text)):
        if piece:
            out.append((piece, i % 2 == 1))
    return out


def decode_document(text: str, family: FimFamily) -> str:
    """The exact original of a FIM-transformed document, file by file (files are split on the
    family's file separator). Works for every layout without being told which: a PSM string with an
    empty prefix and a paper-SPM string both start PRE SUF, and both decode as middle + suffix."""
    if family.file_sep and family.file_sep in text:
        return family.file_sep.join(_decode_file(part, family) for part in text.split(family.file_sep))
    return _decode_file(text, family)


def _decode_file(text: str, family: FimFamily) -> str:
    pre, suf = family.emit("prefix"), family.emit("suffix")
    if text.startswith(pre):
        layout = "spm-paper" if text.startswith(suf, len(pre)) else "psm"
    elif text.startswith(suf):
        layout = "spm-dolma"
    else:
        return Sanitizer.unescape(text)
    return parse(text, family, layout).document
