"""Rendering a completion request into the prompt string a model reads."""

from __future__ import annotations

from fimkit.formats import FimFormat, sanitizer_for
from fimkit.infer.postprocess import hold_trailing_blanks


def render_prompt(fmt: FimFormat, prefix: str, suffix: str, middle_start: str = "",
                  extra: tuple[tuple[str, str], ...] = ()) -> tuple[str, str]:
    """The prompt string for ``fmt`` and the blanks held back from its end (see hold_trailing_blanks).

    Repository chunks go first, each after the family's file separator; PSM puts ``middle_start``
    after the middle sentinel (so typing on one line keeps the prompt's beginning stable), while
    SPM and prefix-only already end with the prefix, so it is simply part of it.
    """
    context = ""
    family = fmt.family
    if extra and family is not None and family.file_sep and fmt.is_fim:
        esc = sanitizer_for(family).escape
        context = "".join(f"{family.file_sep}{esc(name)}\n{esc(text)}" for name, text in extra) + family.file_sep
    if fmt.layout in ("prefix-only", "spm-paper") or (fmt.layout == "spm-dolma" and not family.middle):
        prompt_prefix, held = hold_trailing_blanks(prefix + middle_start)
        return context + fmt.render(prompt_prefix, suffix), held
    # PSM (and Dolma SPM): the prompt ends with the middle sentinel; typed text of the cursor's line
    # follows it, and only its trailing blanks are held back.
    tail, held = hold_trailing_blanks(middle_start)
    return context + fmt.render(prefix, suffix) + sanitizer_for(family).escape(tail), held
