import pytest
from hypothesis import given
from hypothesis import strategies as st

from fimkit.formats import (
    MARK,
    FimFormat,
    FimParseError,
    families,
    get_family,
    parse,
    render_prefix_only,
    render_psm,
    render_spm_dolma,
    render_spm_paper,
    split_specials,
)

FIM = get_family("fimkit")
ALL_SENTINELS = sorted({s for f in families().values() for s in f.sentinels()})
text = st.lists(
    st.one_of(st.text(max_size=8), st.sampled_from(ALL_SENTINELS), st.sampled_from([MARK, " ", "\n", "<"])),
    max_size=8,
).map("".join)


# --- golden renders, checked by hand against the layouts in fim-facts.md section 1 ---

def test_psm_golden():
    assert render_psm(FIM, "def f(", "\n", "x):", eot=True) == (
        "<|fim_prefix|>def f(<|fim_suffix|>\n<|fim_middle|>x):<|endoftext|>"
    )


def test_spm_paper_golden():
    assert render_spm_paper(FIM, "a = ", "\nb", "1") == "<|fim_prefix|><|fim_suffix|>\nb<|fim_middle|>a = 1"


def test_spm_dolma_golden():
    assert render_spm_dolma(FIM, "a = ", "\nb", "1") == "<|fim_suffix|>\nb<|fim_prefix|>a = <|fim_middle|>1"


def test_prompts_end_where_the_middle_starts():
    assert render_psm(FIM, "P", "S") == "<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>"
    assert render_spm_paper(FIM, "P", "S") == "<|fim_prefix|><|fim_suffix|>S<|fim_middle|>P"
    assert render_prefix_only("P") == "P"


def test_codellama_spaces_and_starcoder_spelling():
    assert render_psm(get_family("codellama"), "x", "y") == "<PRE> x <SUF>y <MID>"
    assert render_psm(get_family("starcoder"), "x", "y", "z") == "<fim_prefix>x<fim_suffix>y<fim_middle>z"
    assert render_psm(get_family("deepseek-coder"), "x", "y") == "<｜fim▁begin｜>x<｜fim▁hole｜>y<｜fim▁end｜>"


def test_codestral_is_suffix_first_without_a_middle_sentinel():
    fmt = FimFormat.parse_spec("codestral")
    assert fmt.render("p", "s") == "[SUFFIX]s[PREFIX]p"
    with pytest.raises(Exception, match="no middle sentinel"):
        render_psm(get_family("codestral"), "p", "s")


def test_sentinels_in_user_code_cannot_become_structure():
    hostile = "x = '<|fim_middle|>'  # <|endoftext|>"
    rendered = render_psm(FIM, hostile, "", "y")
    assert rendered.count("<|fim_middle|>") == 1 and "<|endoftext|>" not in rendered
    assert parse(rendered, FIM, "psm").prefix == hostile
    # Only renderer-placed sentinels come out as special pieces for the tokenizer.
    specials = [p for p, special in split_specials(rendered, FIM) if special]
    assert specials == ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]


def test_parse_errors_say_what_was_expected():
    with pytest.raises(FimParseError, match="fim_prefix"):
        parse("hello", FIM, "psm")
    with pytest.raises(FimParseError, match="missing"):
        parse("<|fim_prefix|>abc", FIM, "psm")


# --- property tests: parse(render(x)) == x for any Unicode, sentinel strings included ---

FAMILIES_WITH_MIDDLE = [f for f in families().values() if f.middle]


@pytest.mark.parametrize("family", FAMILIES_WITH_MIDDLE, ids=lambda f: f.name)
@given(prefix=text, suffix=text, middle=text, eot=st.booleans())
def test_psm_round_trip(family, prefix, suffix, middle, eot):
    parts = parse(render_psm(family, prefix, suffix, middle, eot=eot), family, "psm")
    assert (parts.prefix, parts.suffix, parts.middle, parts.eot) == (prefix, suffix, middle, eot)


@pytest.mark.parametrize("family", FAMILIES_WITH_MIDDLE, ids=lambda f: f.name)
@given(prefix=text, suffix=text, middle=text, eot=st.booleans())
def test_spm_dolma_round_trip(family, prefix, suffix, middle, eot):
    parts = parse(render_spm_dolma(family, prefix, suffix, middle, eot=eot), family, "spm-dolma")
    assert (parts.prefix, parts.suffix, parts.middle, parts.eot) == (prefix, suffix, middle, eot)


@pytest.mark.parametrize("family", list(families().values()), ids=lambda f: f.name)
@given(prefix=text, suffix=text, middle=text, eot=st.booleans())
def test_spm_paper_round_trip(family, prefix, suffix, middle, eot):
    """The paper's SPM writes prefix and middle back to back: the boundary is not in the string, so
    the parser is told the prefix length; without it, it returns the joined text and prefix=None."""
    if not family.middle:
        return
    rendered = render_spm_paper(family, prefix, suffix, middle, eot=eot)
    exact = parse(rendered, family, "spm-paper", prefix_len=len(prefix))
    assert (exact.prefix, exact.suffix, exact.middle, exact.eot) == (prefix, suffix, middle, eot)
    joined = parse(rendered, family, "spm-paper")
    assert joined.prefix is None and joined.middle == prefix + middle and joined.document == prefix + middle + suffix


@given(prefix=text, suffix=text, middle=text)
def test_codestral_round_trip(prefix, suffix, middle):
    fmt = FimFormat.parse_spec("codestral")
    parts = fmt.parse(fmt.render(prefix, suffix, middle, eot=True), prefix_len=len(prefix))
    assert (parts.prefix, parts.suffix, parts.middle, parts.eot) == (prefix, suffix, middle, True)


@given(prefix=text, suffix=text, middle=text)
def test_rendered_strings_hold_each_structural_sentinel_exactly_once(prefix, suffix, middle):
    for layout in ("psm", "spm-paper", "spm-dolma"):
        rendered = FimFormat(FIM, layout).render(prefix, suffix, middle, eot=True)
        for s in FIM.structural():
            assert rendered.count(s) == 1
        assert rendered.count(FIM.eot) == 1 and rendered.endswith(FIM.eot)
