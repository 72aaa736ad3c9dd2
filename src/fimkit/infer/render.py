"""Rendering a completion request into the prompt string a model reads."""

from __future__ import annotations

from fimkit.formats import FimFormat, sanitizer_for
from fimkit.infer.context.repository import render_preceding
from fimkit.infer.postprocess import hold_trailing_blanks


def uses_file_separator(fmt: FimFormat) -> bool:
    return fmt.is_fim and bool(fmt.family.file_sep)


def render_prompt(fmt: FimFormat, prefix: str, suffix: str, middle_start: str = "",
                  extra: tuple[tuple[str, str], ...] = (), *, filename: str | None = None,
                  language: str | None = None) -> tuple[str, str]:
    """The prompt string for ``fmt`` and the blanks held back from its end (see hold_trailing_blanks).

    Repository chunks go first: each after the family's file separator when it has one, else as
    preceding files under path comments at the start of the prefix (``render_preceding``). PSM puts
    ``middle_start`` after the middle sentinel (so typing on one line keeps the prompt's beginning
    stable), while SPM and prefix-only already end with the prefix, so it is simply part of it.
    """
    context = ""
    family = fmt.family
    if extra and uses_file_separator(fmt):
        esc = sanitizer_for(family).escape
        context = "".join(f"{family.file_sep}{esc(name)}\n{esc(text)}" for name, text in extra) + family.file_sep
    elif extra:
        prefix = render_preceding(extra, filename, language) + prefix
    if fmt.layout in ("prefix-only", "spm-paper") or (fmt.layout == "spm-dolma" and not family.middle):
        prompt_prefix, held = hold_trailing_blanks(prefix + middle_start)
        return context + fmt.render(prompt_prefix, suffix), held
    # PSM (and Dolma SPM): the prompt ends with the middle sentinel; typed text of the cursor's line
    # follows it, and only its trailing blanks are held back.
    tail, held = hold_trailing_blanks(middle_start)
    return context + fmt.render(prefix, suffix) + sanitizer_for(family).escape(tail), held
