import math

import pytest

from fimkit.eval.metrics import bootstrap_ci, edit_similarity, exact_match, levenshtein, paired_difference_ci, pass_at_k


@pytest.mark.parametrize("n,c,k,expected", [
    (1, 1, 1, 1.0), (1, 0, 1, 0.0), (5, 2, 1, 0.4),
    (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
    (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
    (10, 8, 5, 1.0),  # fewer than k failures: every draw of 5 has a pass
    (100, 0, 10, 0.0),
])
def test_pass_at_k_matches_hand_computed_values(n, c, k, expected):
    assert math.isclose(pass_at_k(n, c, k), expected, rel_tol=1e-12)


def test_pass_at_k_needs_enough_samples():
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 5)


def test_edit_similarity_definition():
    assert levenshtein("kitten", "sitting") == 3
    assert edit_similarity("kitten", "sitting") == 1 - 3 / 7
    assert edit_similarity("  x = 1\n", "x = 1") == 1.0 and edit_similarity("", "") == 1.0
    assert edit_similarity("abc", "") == 0.0
    assert exact_match(" return a + b\n", "return a + b") and not exact_match("return a+b", "return a + b")


def test_bootstrap_intervals():
    lo, hi = bootstrap_ci([1.0] * 50)
    assert lo == hi == 1.0
    values = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(values)
    assert lo < 0.3 < hi and hi - lo < 0.25
    # A real difference on paired tasks excludes zero; noise does not.
    lo, hi = paired_difference_ci([1.0] * 40 + [0.0] * 60, [0.0] * 100)
    assert lo > 0
    lo, hi = paired_difference_ci([1.0, 0.0] * 50, [0.0, 1.0] * 50)
    assert lo < 0 < hi
