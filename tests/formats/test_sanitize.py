from hypothesis import given
from hypothesis import strategies as st

from fimkit.formats import MARK, Sanitizer, families

ALL_SENTINELS = sorted({s for f in families().values() for s in f.sentinels()})
SAN = Sanitizer(ALL_SENTINELS)

# Text that is dense in sentinel fragments, whole sentinels, marks and arbitrary Unicode.
pieces = st.one_of(
    st.text(max_size=6),
    st.sampled_from(ALL_SENTINELS),
    st.sampled_from([MARK, MARK * 2, "<", "|", "<|", "|>", "fim_", "▁", "｜"]),
)
code_like = st.lists(pieces, max_size=12).map("".join)


@given(code_like)
def test_escape_is_exactly_reversible(text):
    assert Sanitizer.unescape(SAN.escape(text)) == text


@given(code_like)
def test_escaped_text_contains_no_sentinel(text):
    escaped = SAN.escape(text)
    assert not any(s in escaped for s in ALL_SENTINELS)


def test_plain_code_is_left_untouched():
    code = "def f(x):\n    return x < 2 | 3\n"
    assert SAN.escape(code) is code


def test_overlapping_occurrences_are_all_broken():
    san = Sanitizer(["abab", "bab"])
    escaped = san.escape("ababab")
    assert "abab" not in escaped and "bab" not in escaped
    assert Sanitizer.unescape(escaped) == "ababab"


def test_stray_marks_from_a_model_are_dropped():
    assert Sanitizer.unescape("x" + MARK + "y") == "xy"
