import pytest

from fimkit.errors import UnknownFormatError
from fimkit.formats import FIM_LAYOUTS, FimFormat, check_layout, families, get_family, load_families

EXPECTED = {"fimkit", "qwen2.5-coder", "starcoder", "codellama", "deepseek-coder", "codestral", "codegemma"}


def test_table_has_every_family_the_product_promises():
    assert set(families()) >= EXPECTED


def test_fimkit_default_spelling_matches_the_seed_documents():
    f = get_family("fimkit")
    assert (f.prefix, f.suffix, f.middle, f.pad, f.file_sep, f.eot) == (
        "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>", "<|file_sep|>", "<|endoftext|>"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_family_is_consistent(name):
    f = get_family(name)
    assert f.layouts and all(layout in FIM_LAYOUTS for layout in f.layouts)
    assert f.eot in f.stop_strings()
    assert len(set(f.structural())) == len(f.structural())  # distinct structural sentinels
    for s in f.sentinels():
        assert len(s) >= 2


def test_lookup_is_case_insensitive_and_unknown_names_list_the_known_ones():
    assert get_family(" StarCoder ").name == "starcoder"
    with pytest.raises(UnknownFormatError) as err:
        get_family("santa-llama")
    assert "santa-llama" in str(err.value) and "starcoder" in str(err.value)


def test_layout_validation():
    assert check_layout("spm-paper") == "spm-paper"
    with pytest.raises(UnknownFormatError, match="psm"):
        check_layout("pms")


def test_format_specs_round_trip():
    for spec in ("fimkit:psm", "fimkit:spm-paper", "starcoder:spm-paper", "prefix-only"):
        assert FimFormat.parse_spec(spec).spec == spec
    assert FimFormat.parse_spec("codestral").spec == "codestral:spm-dolma"  # the family's default layout
    with pytest.raises(UnknownFormatError):
        FimFormat.parse_spec("fimkit:middle-out")


def test_user_family_tables_are_validated_with_the_file_named(tmp_path):
    good = tmp_path / "mine.toml"
    good.write_text('[acme]\nprefix = "<P>"\nsuffix = "<S>"\nmiddle = "<M>"\neot = "<E>"\nlayouts = ["spm-paper"]\n')
    assert load_families(good)["acme"].default_layout == "spm-paper"

    bad = tmp_path / "bad.toml"
    bad.write_text('[acme]\nprefix = "<P>"\nsuffix = "<S>"\nmiddle = "<M>"\neot = "<E>"\nsufix_text = "x"\n')
    with pytest.raises(UnknownFormatError, match=r"bad\.toml.*sufix_text"):
        load_families(bad)

    broken = tmp_path / "broken.toml"
    broken.write_text("[acme\n")
    with pytest.raises(UnknownFormatError, match=r"broken\.toml: not valid TOML"):
        load_families(broken)

    missing = tmp_path / "missing.toml"
    missing.write_text('[acme]\nprefix = "<P>"\nsuffix = "<S>"\neot = "<E>"\n')
    with pytest.raises(UnknownFormatError, match="lacks the required key 'middle'"):
        load_families(missing)
