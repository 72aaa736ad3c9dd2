from fimkit.infer.postprocess import mean_logprob
from fimkit.syntax import error_count, language_of


def test_language_from_name_or_file():
    assert language_of("Python") == "python" and language_of("javascriptreact") == "javascript"
    assert language_of(None, "src/app.tsx") == "typescript" and language_of(None, "a.txt") is None


def test_mean_logprob_ignores_missing_values():
    assert mean_logprob([-1.0, None, -3.0]) == -2.0 and mean_logprob([]) is None


def test_error_count_sees_missing_nodes():
    assert error_count("x = (1, 2\n", "python") >= 1 and error_count("x = (1, 2)\n", "python") == 0
