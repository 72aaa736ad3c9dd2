"""The FIM family registry: one data-driven table of sentinel spellings.

The table lives in ``families.toml`` beside this file; users can add their own
families from a TOML file of the same shape (``load_families``). Data, training,
export and serving all look sentinels up here, never in string literals of their own.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from fimkit.errors import UnknownFormatError

Layout = Literal["psm", "spm-paper", "spm-dolma", "prefix-only"]

#: Layouts with FIM sentinels. ``prefix-only`` is the fallback for models without them.
FIM_LAYOUTS: tuple[str, ...] = ("psm", "spm-paper", "spm-dolma")
LAYOUTS: tuple[str, ...] = FIM_LAYOUTS + ("prefix-only",)

LAYOUT_HELP = {
    "psm": "<PRE> prefix <SUF> suffix <MID> middle: the standard serving layout",
    "spm-paper": "<PRE><SUF> suffix <MID> prefix middle: Bavarian et al./BigCode; typing only appends, "
    "so the KV cache stays valid",
    "spm-dolma": "<SUF> suffix <PRE> prefix <MID> middle: the variant allenai/dolma's FIM tool writes",
    "prefix-only": "prefix, then the model continues: for models without FIM tokens (suffix used only "
    "by post-processing)",
}

_ROLES = ("prefix", "suffix", "middle", "eot", "pad", "file_sep", "repo_name")


@dataclass(frozen=True)
class FimFamily:
    """How one model family spells its FIM sentinels. Plain data: render with ``fimkit.formats.render``."""

    name: str
    prefix: str
    suffix: str
    middle: str  # "" when the family has no middle sentinel (Codestral)
    eot: str
    pad: str | None = None
    file_sep: str | None = None
    repo_name: str | None = None
    stop: tuple[str, ...] = ()
    prefix_text: str | None = None
    suffix_text: str | None = None
    middle_text: str | None = None
    layouts: tuple[str, ...] = ("psm",)
    name_hints: tuple[str, ...] = ()
    description: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def emit(self, role: str) -> str:
        """The text a rendered string writes for ``role`` ('prefix', 'suffix' or 'middle')."""
        decorated = getattr(self, f"{role}_text")
        return decorated if decorated is not None else getattr(self, role)

    def sentinels(self) -> tuple[str, ...]:
        """Every special string of this family, in a fixed order, without blanks or repeats."""
        seen: list[str] = []
        for role in _ROLES:
            value = getattr(self, role)
            if value and value not in seen:
                seen.append(value)
        for value in self.stop:
            if value not in seen:
                seen.append(value)
        return tuple(seen)

    def structural(self) -> tuple[str, ...]:
        """The sentinels that structure a FIM string (prefix, suffix, middle when present)."""
        return tuple(s for s in (self.prefix, self.suffix, self.middle) if s)

    def stop_strings(self) -> tuple[str, ...]:
        """Strings that end a generated middle: EOT, the family's extra stops and its other sentinels."""
        out = [self.eot, *self.stop]
        for s in (self.file_sep, self.repo_name, self.prefix, self.suffix, self.middle, self.pad):
            if s and s not in out:
                out.append(s)
        return tuple(out)

    @property
    def default_layout(self) -> str:
        return self.layouts[0]


def _family_from_table(name: str, row: dict, source: str) -> FimFamily:
    known = set(FimFamily.__dataclass_fields__) - {"name", "extra"}
    unknown = set(row) - known
    if unknown:
        raise UnknownFormatError(
            f"{source}: family '{name}' has unknown key(s) {sorted(unknown)}; known keys: {sorted(known)}"
        )
    for key in ("prefix", "suffix", "middle", "eot"):
        if key not in row:
            raise UnknownFormatError(f"{source}: family '{name}' lacks the required key '{key}'")
    for key in ("prefix", "suffix", "eot"):
        if len(row[key]) < 2:
            # The sanitizer breaks a sentinel by inserting a mark after its first character.
            raise UnknownFormatError(f"{source}: family '{name}': {key} must be at least 2 characters")
    layouts = tuple(row.get("layouts", ("psm",)))
    for layout in layouts:
        if layout not in FIM_LAYOUTS:
            raise UnknownFormatError(
                f"{source}: family '{name}' lists unknown layout '{layout}'; known: {', '.join(FIM_LAYOUTS)}"
            )
    if not row["middle"] and "psm" in layouts:
        raise UnknownFormatError(f"{source}: family '{name}' has no middle sentinel, so it cannot use psm")
    values = dict(row)
    for key in ("stop", "layouts", "name_hints"):
        if key in values:
            values[key] = tuple(values[key])
    return FimFamily(name=name, **values)


def load_families(path: str | Path | None = None) -> dict[str, FimFamily]:
    """Read a family table. Without ``path``, the table shipped with fimkit."""
    if path is None:
        text = resources.files("fimkit.formats").joinpath("families.toml").read_text(encoding="utf-8")
        source = "fimkit/formats/families.toml"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UnknownFormatError(f"cannot read FIM family table {source}: {exc.strerror}") from exc
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UnknownFormatError(f"{source}: not valid TOML ({exc})") from exc
    return {name: _family_from_table(name, row, source) for name, row in table.items()}


_BUILTIN: dict[str, FimFamily] | None = None


def families() -> dict[str, FimFamily]:
    """The built-in families, by name, in table order."""
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = load_families()
    return _BUILTIN


def get_family(name: str) -> FimFamily:
    """A family by name (case-insensitive), or an error listing the known ones."""
    table = families()
    key = name.strip().lower()
    if key in table:
        return table[key]
    raise UnknownFormatError(
        f"unknown FIM family '{name}'; known families: {', '.join(table)} "
        "(add your own with a TOML table like fimkit/formats/families.toml)"
    )


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise UnknownFormatError(f"unknown FIM layout '{layout}'; choose one of: {', '.join(LAYOUTS)}")
    return layout
