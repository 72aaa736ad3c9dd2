from fimkit.infer.engines.lookup import lookup_draft


def test_the_draft_is_what_followed_the_latest_earlier_occurrence():
    history = [1, 2, 3, 4, 5, 9, 1, 2, 3, 7, 8, 0, 1, 2, 3]
    assert lookup_draft(history, 2) == [7, 8]  # the latest "1 2 3" before the end was followed by 7 8
    assert lookup_draft(history, 10) == [7, 8, 0, 1, 2, 3]


def test_longer_ngrams_win_and_nothing_recurring_gives_no_draft():
    history = [5, 6, 1, 9, 9, 4, 6, 1, 2]
    assert lookup_draft(history, 3) == []  # only single tokens recur: below the shortest n-gram
    assert lookup_draft([4, 6, 1, 2, 8, 6, 1, 2], 2) == [8, 6]
    assert lookup_draft([1, 2, 3], 0) == [] and lookup_draft([], 4) == []
