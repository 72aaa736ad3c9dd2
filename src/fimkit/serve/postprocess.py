"""Post-processing of a generated middle: pure functions, each one rule.

A base model served prefix-only does not know the suffix exists and will happily write
it again; these rules cut the middle where it starts repeating the suffix and keep a
single line when the cursor has text to its right.
"""

from __future__ import annotations

from difflib import SequenceMatcher


def cursor_mid_line(suffix: str) -> bool:
    """True when text remains right of the cursor on its line."""
    return bool(suffix.split("\n", 1)[0].strip())


def keep_single_line(middle: str, suffix: str) -> str:
    """With text right of the cursor, a completion may not start new lines."""
    if cursor_mid_line(suffix):
        return middle.split("\n", 1)[0]
    return middle


def _similar(a: str, b: str, threshold: float) -> bool:
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    return a == b or SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def cut_at_suffix_overlap(middle: str, suffix: str, threshold: float = 0.8) -> str:
    """Cut the middle where it starts writing the suffix again.

    Mid-line: drop a re-typed copy of the text right of the cursor from the end of the line.
    End of line: cut before the first generated line (after the cursor's own) that matches the
    suffix's first non-blank line (similarity ratio >= threshold), with the blank lines before it.
    """
    if not middle or not suffix.strip():
        return middle
    rest_of_line = suffix.split("\n", 1)[0]
    lines = middle.split("\n")
    if rest_of_line.strip():
        head = lines[0]
        if head.endswith(rest_of_line):
            lines[0] = head[: len(head) - len(rest_of_line)]
        return "\n".join(lines)
    target = next(ln for ln in suffix.split("\n") if ln.strip())
    for i in range(1, len(lines)):
        if _similar(lines[i], target, threshold):
            kept = lines[:i]
            while len(kept) > 1 and not kept[-1].strip():
                kept.pop()
            text = "\n".join(kept)
            # The suffix already starts with the newline that ends the cursor's line.
            return text if suffix.startswith("\n") else text + "\n"
    return middle


def hold_trailing_blanks(prefix: str) -> tuple[str, str]:
    """Split spaces/tabs off the end of the prefix: (prompt prefix, held blanks).

    A prompt ending in a space makes the model start a token mid-word ("return " -> "0"); the
    model writes better when it produces the space itself, which ``heal_leading_blanks`` then
    removes from the middle because the user already typed it.
    """
    kept = prefix.rstrip(" \t")
    return kept, prefix[len(kept):]


def heal_leading_blanks(middle: str, held: str) -> str:
    if not held:
        return middle
    if middle.startswith(held):
        return middle[len(held):]
    return middle.lstrip(" \t")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def cut_at_scope_end(middle: str, prefix: str) -> str:
    """Stop at the first generated line indented less than the cursor's line (the block ended)."""
    cursor_line = prefix.rsplit("\n", 1)[-1]
    if not cursor_line.strip():
        return middle
    floor = _indent(cursor_line)
    lines = middle.split("\n")
    for i in range(1, len(lines)):
        if lines[i].strip() and _indent(lines[i]) < floor:
            kept = lines[:i]
            while len(kept) > 1 and not kept[-1].strip():
                kept.pop()
            return "\n".join(kept)
    return middle


def postprocess(middle: str, prefix: str, suffix: str, *, overlap_threshold: float = 0.8) -> str:
    """The rules a completion needs to respect the code around it, in order."""
    middle = keep_single_line(middle, suffix)
    middle = cut_at_scope_end(middle, prefix)
    return cut_at_suffix_overlap(middle, suffix, overlap_threshold)
