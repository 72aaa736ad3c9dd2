import pytest

from fimkit.infer.postprocess import mean_logprob
from fimkit.syntax import error_count, language_of


def test_language_from_name_or_file():
    assert language_of("Python") == "python" and language_of("javascriptreact") == "javascript"
    assert language_of(None, "src/app.tsx") == "typescript" and language_of(None, "a.txt") is None


def test_mean_logprob_ignores_missing_values():
    assert mean_logprob([-1.0, None, -3.0]) == -2.0 and mean_logprob([]) is None


def test_error_count_sees_missing_nodes():
    assert error_count("x = (1, 2\n", "python") >= 1 and error_count("x = (1, 2)\n", "python") == 0


@pytest.mark.parametrize("before, after, expected", [
    ("import os\n\ndef read(path):\n    with open(path) as fh:\n        data = fh.read()\n    return ",
     "\n\nprint(read('x'))\n", "python"),
    ("class A:\n    def f(self, x):\n        if x > 1:\n            return self.g(", ")\n        return 0\n", "python"),
    ("const fs = require('fs');\nfunction read(p) {\n  const data = fs.readFileSync(p, 'utf8');\n  return ",
     ";\n}\nmodule.exports = { read };\n", "javascript"),
    ("SELECT name, COUNT(*) AS n\nFROM users\nWHERE ", "\nGROUP BY name\nORDER BY n DESC;\n", "sql"),
    ("Dear team,\nthanks for the meeting yesterday. I think we should ", " next week.\n", None),  # prose
    ("package main\n\nimport \"fmt\"\n\nfunc main() {\n\tx := 1\n\tfmt.Println(", ")\n}\n", None),  # no grammar
    ("x = ", "", None),  # too little to tell
])
def test_a_buffer_without_a_name_is_told_by_its_code(before, after, expected):
    from fimkit.syntax import guess_language

    assert guess_language(before, after) == expected
