"""Post-processing of a generated middle: small pure functions, one rule each.

Line 0 of a middle is the rest of the cursor's line; later lines are new lines. The rules
follow what Tabby, Continue and llama.vscode do (fim-facts section 6), plus two they lack:
the confidence gate (``mean_logprob``) and the parse check (``fimkit.syntax.error_count``, applied
by ``fimkit.infer.shaping``).
"""

from __future__ import annotations

import math
import re
from difflib import SequenceMatcher


def cursor_mid_line(suffix: str, prefix: str | None = None) -> bool:
    """True when text remains right of the cursor on its line, and the cursor is not at column 0.

    At column 0 with text to the right, a completion inserts whole lines above that text (what an
    editor does when you complete at the start of a line, and what HumanEval's single-line holes
    are), so it is not a mid-line completion.
    """
    if prefix is not None and line_insert(prefix, suffix):
        return False
    return bool(suffix.split("\n", 1)[0].strip())


def line_insert(prefix: str, suffix: str) -> bool:
    """The cursor is at column 0 of a line that has text: the middle is whole lines, ending in a newline."""
    return (prefix == "" or prefix.endswith("\n")) and bool(suffix.split("\n", 1)[0].strip())


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def similar(a: str, b: str, threshold: float) -> bool:
    """Lines are the same up to a similarity ratio (difflib, 0..1) at or above ``threshold``."""
    a, b = a.strip(), b.strip()
    if not a or not b:
        return False
    return a == b or SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold


def drop_retyped_rest_of_line(line0: str, suffix: str) -> str:
    """A model that re-types the text right of the cursor ("10))" before "))") loses the copy."""
    rest = suffix.split("\n", 1)[0]
    if rest.strip() and line0.endswith(rest):
        return line0[: len(line0) - len(rest)]
    return line0


def first_suffix_line(suffix: str, prefix: str | None = None) -> str | None:
    """The first non-blank line after the cursor's line (or the cursor's line when it is empty there,
    or when the cursor is at column 0 and the middle goes above it)."""
    lines = suffix.split("\n")
    candidates = lines[1:] if cursor_mid_line(suffix, prefix) else lines
    return next((ln for ln in candidates if ln.strip()), None)


def suffix_lines_ahead(suffix: str, prefix: str | None = None, n: int = 3) -> list[str]:
    """The first ``n`` non-blank lines after the cursor's line (see ``first_suffix_line``)."""
    lines = suffix.split("\n")
    candidates = lines[1:] if cursor_mid_line(suffix, prefix) else lines
    return [ln for ln in candidates[:200] if ln.strip()][:n]


def repeats_suffix(line: str, suffix: str, threshold: float = 0.8, prefix: str | None = None,
                   lookahead: int = 3) -> bool:
    """A new line that matches one of the suffix's next non-blank lines: the model is writing code
    that already follows the cursor. The first line counts whatever it is; later ones only when they
    are distinctive (6+ characters), since a lone ``}`` or ``else:`` recurs everywhere."""
    for i, target in enumerate(suffix_lines_ahead(suffix, prefix, lookahead)):
        if (i == 0 or len(target.strip()) >= 6) and similar(line, target, threshold):
            return True
    return False


BLOCK_END = re.compile(r"^\s*(return|raise|break|continue|throw)\b")
_OPEN, _CLOSE = "([{", ")]}"


def open_brackets(text: str) -> int:
    """Brackets opened and not closed in ``text`` (strings are not parsed: a rough count)."""
    return sum(text.count(c) for c in _OPEN) - sum(text.count(c) for c in _CLOSE)


def follows_block_end(statement: str, line: str) -> bool:
    """``line`` comes right after ``statement``, a return/raise/break/continue/throw, at the same
    indentation: it can never run (dead code), so the block is over. A statement whose brackets
    are still open (or that ends in a backslash) continues on ``line`` instead."""
    if not line.strip() or not BLOCK_END.match(statement):
        return False
    if open_brackets(statement) > 0 or statement.rstrip().endswith("\\"):
        return False
    return indent_of(line) == indent_of(statement)


def leaves_scope(line: str, prefix: str, suffix: str | None = None) -> bool:
    """A non-blank new line indented less than the block the cursor is in: less than the cursor's line
    (a line of only blanks counts: that indentation is where the user is writing), or, with
    ``suffix``, less than the code that follows the middle, which must stay in its block (at column 0
    the cursor's own line says nothing; the next statement does). A header may sit one level (up to
    4 columns) above the code after it: that code becomes its body."""
    if not line.strip():
        return False
    if indent_of(line) < indent_of(prefix.rsplit("\n", 1)[-1]):
        return True
    if suffix is None:
        return False
    following = first_suffix_line(suffix, prefix)
    if following is None or _CONTINUES.match(following.lstrip()):
        return False
    below = indent_of(following) - indent_of(line)
    # A header one level above the code after it makes that code its body; anything else is outside.
    return below > 0 and not (opens_block(line) and below <= 4)


def opens_block(line: str) -> bool:
    """A Python compound statement's header (``if x:``, ``def f():``): it needs a body after it."""
    code = line.split("#", 1)[0].rstrip()
    return code.endswith(":") and open_brackets(code) <= 0 and not code.lstrip().startswith(("lambda", "#"))


# What may follow a statement at its own indentation and still belong to it.
_CONTINUES = re.compile(r"(else|elif|except|finally|catch|case|default)\b|[}\])]")


def ends_statement(line: str, prefix: str, suffix: str) -> bool:
    """The cursor sits between two statements of one block (the suffix's next code line has the
    cursor line's indentation), and ``line`` starts a new one at that indentation (or less): the
    statement being written, simple or compound, is complete. What comes next is already in the
    suffix, or is code the user did not ask for; a hole between statements is filled by one.
    ``else``/``except``/closing brackets continue the statement."""
    if not line.strip() or not between_statements(prefix, suffix):
        return False
    return indent_of(line) <= indent_of(prefix.rsplit("\n", 1)[-1]) and not _CONTINUES.match(line.lstrip())


def continues(line: str) -> bool:
    """``line`` carries on the statement before it at the same indentation (``else:``, ``}``...)."""
    return bool(_CONTINUES.match(line.lstrip()))


def between_statements(prefix: str, suffix: str) -> bool:
    """Nothing right of the cursor, and the suffix's next code line has the cursor line's indentation."""
    if suffix.split("\n", 1)[0].strip():
        return False
    following = next((ln for ln in suffix.split("\n")[1:] if ln.strip()), None)
    return following is not None and indent_of(following) == indent_of(prefix.rsplit("\n", 1)[-1])


def below_n_indent(line: str, n_indent: int | None) -> bool:
    """llama.cpp's n_indent: stop at a new line indented less than ``n_indent`` columns."""
    return n_indent is not None and n_indent > 0 and bool(line.strip()) and indent_of(line) < n_indent


def repeats_previous(lines: list[str], block: int = 4) -> bool:
    """The last line(s) repeat the ones just before them: a line, or a block of up to ``block`` lines."""
    for k in range(1, block + 1):
        if len(lines) >= 2 * k:
            tail, before = lines[-k:], lines[-2 * k : -k]
            if any(ln.strip() for ln in tail) and [ln.strip() for ln in tail] == [ln.strip() for ln in before]:
                return True
    return False


_CHAR_RUN = re.compile(r"(.{1,4}?)\1{7,}$")


def cut_char_repeats(line: str) -> tuple[str, bool]:
    """Cut a unit repeated 8+ times at the end of a line (")))))))))", "0, 0, 0, ..."); True if cut."""
    m = _CHAR_RUN.search(line)
    if not m:
        return line, False
    return line[: m.start()] + m.group(1), True


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


def is_useless(middle: str, prefix: str) -> bool:
    """Blank, or only the line above again."""
    if not middle.strip():
        return True
    lines = prefix.split("\n")
    cursor_line, above = lines[-1], (lines[-2] if len(lines) >= 2 else "")
    return "\n" not in middle.strip() and bool(above.strip()) and (cursor_line + middle).strip() == above.strip()


def mean_logprob(logprobs) -> float | None:
    """The confidence of a completion: the mean of its tokens' finite log-probabilities (None: unknown).
    A base model that is guessing writes low-probability tokens; the gate hides such completions."""
    finite = [lp for lp in logprobs if lp is not None and math.isfinite(lp)]
    return sum(finite) / len(finite) if finite else None
