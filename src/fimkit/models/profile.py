"""Model profiles: how fimkit prompts a model family and shapes what it writes, declared once.

A family's sentinels and end tokens live in the FIM family table (``fimkit/formats/families.toml``);
its profile (``profiles.toml`` beside this file) holds the serving choices that were measured for it
rather than inherited: the layout, the prompt budget and how it is shared between prefix and suffix,
which shaping rules apply, token healing, the shown-likelihood cut and how repository context is
rendered. ``benchmarks/bench_profile.py`` measures each choice on a tuning split of code fimkit did not
write; docs/models.md reports them on the held-out split. Models without FIM tokens get the
``prefix-only`` profile, FIM families without one of their own the ``fim`` profile.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

from fimkit.errors import FimkitError
from fimkit.formats.registry import LAYOUTS

# Kept in step with fimkit.infer.shaping.RULES, fimkit.infer.engines.healing.POLICIES and
# fimkit.infer.context.budget.SUFFIX_SCOPES (tests/models/test_profile.py checks it): the models
# layer sits below infer, so it cannot import them.
RULES = ("scope", "suffix", "dead_code", "statement", "repetition", "retyped", "single_line", "parse", "useless",
         "logical_line", "one_statement")
HEALING = ("off", "1-token", "2-tokens", "word", "lexeme")
SUFFIX_SCOPES = ("definition", "scope", "blank")
REPOSITORY = ("preceding", "file-sep", "repository")
ANCHORS = ("off", "line", "code")


@dataclass(frozen=True)
class ModelProfile:
    """name: the family it serves (or ``prefix-only``, ``fim``). layout: the FIM layout prompts use
    (None: the family's default). prompt_tokens / prompt_tokens_gpu: the most prompt tokens per
    completion on a CPU / with GPU offload. prefix_share, suffix_share: the most of that budget each may
    take. suffix_scope: how far the suffix reaches (``fimkit.infer.context.budget``). rules: the shaping
    rules that apply (``fimkit.infer.shaping.RULES``). healing: the token-healing policy.
    min_shown_logprob: where a shown middle is cut (None: never). repository: how repository context is
    rendered (preceding files under path comments, after file separators, or a repository-level prompt
    with the repository's name). anchor: a prompt that ends with the middle sentinel keeps its beginning
    while the user types, and the typed text goes after the sentinel (``fimkit.infer.context.anchor``):
    from the start of the cursor's line (``line``), from its first character of code (``code``: the
    indentation stays in the prefix), or never (``off``).
    measured: where the choices are reported."""

    name: str
    description: str = ""
    layout: str | None = None
    prompt_tokens: int = 1024
    prompt_tokens_gpu: int = 4096
    prefix_share: float = 0.6
    suffix_share: float = 0.3
    suffix_scope: str = "definition"
    rules: tuple[str, ...] = RULES
    healing: str = "word"
    min_shown_logprob: float | None = -0.75
    repository: str = "preceding"
    anchor: str = "code"
    measured: str = ""

    def budget_tokens(self, gpu: bool) -> int:
        return self.prompt_tokens_gpu if gpu else self.prompt_tokens


def _check(name: str, row: dict) -> ModelProfile:
    where = f"fimkit/models/profiles.toml [{name}]"
    known = set(ModelProfile.__dataclass_fields__) - {"name"}
    unknown = set(row) - known
    if unknown:
        raise FimkitError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    values = dict(row)
    if "rules" in values:
        values["rules"] = tuple(values["rules"])
        bad = set(values["rules"]) - set(RULES)
        if bad:
            raise FimkitError(f"{where}: unknown rule(s) {sorted(bad)}; known: {', '.join(RULES)}")
    if values.get("min_shown_logprob") == "off":
        values["min_shown_logprob"] = None
    for key, allowed in (("layout", LAYOUTS), ("healing", HEALING), ("suffix_scope", SUFFIX_SCOPES),
                         ("repository", REPOSITORY), ("anchor", ANCHORS)):
        if key in values and values[key] not in allowed:
            raise FimkitError(f"{where}: {key} {values[key]!r} is not one of {', '.join(allowed)}")
    return ModelProfile(name=name, **values)


_PROFILES: dict[str, ModelProfile] | None = None


def profiles() -> dict[str, ModelProfile]:
    global _PROFILES
    if _PROFILES is None:
        text = resources.files("fimkit.models").joinpath("profiles.toml").read_text(encoding="utf-8")
        _PROFILES = {name: _check(name, row) for name, row in tomllib.loads(text).items()}
    return _PROFILES


def served_format(detection):
    """The FIM format a detected model is served with: the layout it records (a model fimkit trained),
    else its profile's, else its family's default (prefix-only when it has no FIM tokens)."""
    from fimkit.formats import FimFormat

    if not detection.is_fim:
        return FimFormat(None, "prefix-only")
    family = detection.family
    return FimFormat(family, detection.layout or profile_for(family.name).layout or family.default_layout)


def profile_for(family: str | None) -> ModelProfile:
    """The profile of a FIM family by name (None: a model without FIM tokens)."""
    table = profiles()
    if family is None:
        return table["prefix-only"]
    return table.get(family, table["fim"])
