"""A small regex-driven tokenizer for arithmetic/config expressions.

A single compiled alternation with named groups lets the regex engine pick
the token kind for us; ``lastgroup`` tells us which branch matched. Order
matters: longer operators must come before their prefixes ("<=" before "<").
"""
import re
from dataclasses import dataclass
from typing import Iterator

TOKEN_SPEC = [
    ("NUMBER", r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"),
    ("STRING", r'"(?:[^"\\]|\\.)*"'),
    ("IDENT", r"[A-Za-z_][A-Za-z0-9_]*"),
    ("OP", r"==|!=|<=|>=|\*\*|[+\-*/%<>=()\[\],.]"),
    ("NEWLINE", r"\n"),
    ("SKIP", r"[ \t]+|#[^\n]*"),
    ("MISMATCH", r"."),
]
_MASTER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in TOKEN_SPEC))
KEYWORDS = frozenset({"if", "else", "and", "or", "not", "let"})


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int
    column: int


class TokenizeError(SyntaxError):
    pass


def tokenize(source: str) -> Iterator[Token]:
    line, line_start = 1, 0
    for match in _MASTER.finditer(source):
        kind = match.lastgroup
        text = match.group()
        column = match.start() - line_start + 1
        if kind == "NEWLINE":
            line += 1
            line_start = match.end()
            continue
        if kind == "SKIP":
            continue
        if kind == "MISMATCH":
            raise TokenizeError(f"unexpected {text!r} at {line}:{column}")
        if kind == "IDENT" and text in KEYWORDS:
            kind = "KEYWORD"
        yield Token(kind, text, line, column)
    yield Token("EOF", "", line, len(source) - line_start + 1)


if __name__ == "__main__":
    program = 'let rate = 1.5e3 # per hour\nif rate >= 100 and name != "a\\"b" (x ** 2)'
    for tok in tokenize(program):
        print(f"{tok.line}:{tok.column:<3} {tok.kind:<8} {tok.text}")
    try:
        list(tokenize("x = 3 $ 4"))
    except TokenizeError as err:
        print("error:", err)
