"""Rendering a completion request into the prompt string a model reads."""

from __future__ import annotations

from fimkit.formats import FimFormat, sanitizer_for
from fimkit.infer.context.repository import render_preceding
from fimkit.infer.postprocess import hold_trailing_blanks


def uses_file_separator(fmt: FimFormat) -> bool:
    return fmt.is_fim and bool(fmt.family.file_sep)


def render_prompt(fmt: FimFormat, prefix: str, suffix: str, middle_start: str = "",
                  extra: tuple[tuple[str, str], ...] = (), *, filename: str | None = None,
                  language: str | None = None, repository: str | None = None,
                  style: str = "file-sep") -> tuple[str, str]:
    """The prompt string for ``fmt`` and the blanks held back from its end (see hold_trailing_blanks).

    Repository chunks go first: each after the family's file separator when it has one, else as
    preceding files under path comments at the start of the prefix (``render_preceding``). With the
    ``repository`` style (the model profile's, for families trained on repository-level prompts such as
    Qwen2.5-Coder's) the prompt is that one: the repository's name, the other files, then the current
    file's path, each after the file separator, and the FIM prompt, when there is context to show (the
    file's path alone measured no gain: docs/models.md). PSM puts ``middle_start`` after the middle sentinel (so typing keeps the
    prompt's beginning stable), while SPM and prefix-only already end with the prefix, so it is simply
    part of it.
    """
    context = ""
    family = fmt.family
    esc = sanitizer_for(family).escape if family is not None else None
    if style == "repository" and uses_file_separator(fmt) and family.repo_name and extra:
        files = "".join(f"{family.file_sep}{esc(name)}\n{esc(text)}" for name, text in extra)
        context = (f"{family.repo_name}{esc(repository or 'repository')}\n{files}"
                   f"{family.file_sep}{esc(filename or 'untitled')}\n")
    elif extra and uses_file_separator(fmt):
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
