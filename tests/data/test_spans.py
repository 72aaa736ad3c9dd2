import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fimkit.data.spans import ast_candidates, char_span, choose_span, line_span

CODE = '''def area(r):
    if r < 0:
        raise ValueError("negative radius")
    return 3.14159 * r ** 2


print(area(2))
'''


@given(st.text(min_size=1, max_size=200), st.integers(0, 1000))
def test_char_spans_are_non_empty_and_inside(text, seed):
    a, b = char_span(text, random.Random(seed))
    assert 0 <= a < b <= len(text)


@given(st.text(min_size=1, max_size=200), st.integers(0, 1000))
def test_line_spans_are_whole_lines(text, seed):
    a, b = line_span(text, random.Random(seed))
    assert 0 <= a < b <= len(text)
    assert a == 0 or text[a - 1] == "\n"
    assert b == len(text) or text[b - 1] == "\n"


def test_ast_spans_are_whole_nodes():
    spans = ast_candidates(CODE, "python")
    texts = {CODE[a:b] for a, b in spans}
    assert 'raise ValueError("negative radius")' in texts  # a statement
    assert "r < 0" in texts  # a condition
    assert "area(2)" in texts and "(2)" in texts  # a call and its arguments


def test_ast_spans_use_character_offsets_with_non_ascii():
    code = 'name = "héllo wörld"\nprint(name.upper())\n'
    texts = {code[a:b] for a, b in ast_candidates(code, "python")}
    assert "name.upper()" in texts and "print(name.upper())" in texts


@pytest.mark.parametrize("lang,code,expected", [
    ("javascript", "const f = async (u) => {\n  const r = await fetch(u);\n  return r.json();\n};\n", "await fetch(u)"),
    ("sql", "SELECT a, COUNT(*) FROM t WHERE b > 1 GROUP BY a;\n", "WHERE b > 1"),
])
def test_other_grammars(lang, code, expected):
    texts = {code[a:b] for a, b in ast_candidates(code, lang)}
    assert expected in texts


def test_unknown_language_falls_back_to_lines():
    a, b = choose_span("ast", "x\ny\n", random.Random(0), "cobol")
    assert (a, b) in {(0, 2), (2, 4), (0, 4)}
