import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fimkit.data.fim import FimTransformConfig, FimTransformer, run_fim, transform_file
from fimkit.data.jsonl import BadRecordError, read_lines, write_jsonl
from fimkit.errors import FimkitError
from fimkit.formats import MARK, decode_document, families, get_family

FIM = get_family("fimkit")
SENTINELS = sorted({s for f in families().values() for s in f.sentinels()})
doc_text = st.lists(
    st.one_of(st.text(max_size=10), st.sampled_from(SENTINELS + [MARK, "\n", "    ", "def f():\n"])), max_size=10
).map("".join)


@pytest.mark.parametrize("span", ["char", "line", "ast"])
@pytest.mark.parametrize("spm", ["paper", "dolma"])
@settings(max_examples=60, deadline=None)
@given(text=doc_text, seed=st.integers(0, 10_000), eot=st.booleans())
def test_every_mode_decodes_back_to_the_original(span, spm, text, seed, eot):
    t = FimTransformer(FimTransformConfig(fim_rate=1.0, psm_spm_split=0.5, spm_variant=spm, span=span, eot=eot))
    out = t.transform_text(text, random.Random(seed), "python")
    assert decode_document(out, t.family) == text


@settings(max_examples=60, deadline=None)
@given(files=st.lists(doc_text, min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_multi_file_documents_are_split_on_the_separator(files, seed):
    files = [f.replace(FIM.file_sep, "") for f in files]  # the separator itself is structure
    text = FIM.file_sep.join(files)
    t = FimTransformer(FimTransformConfig(fim_rate=0.7))
    out = t.transform_text(text, random.Random(seed))
    assert out.count(FIM.file_sep) == text.count(FIM.file_sep)
    assert decode_document(out, t.family) == text


@given(text=doc_text, seed=st.integers(0, 1000))
def test_sentinels_in_the_input_never_survive_as_sentinels(text, seed):
    t = FimTransformer(FimTransformConfig(fim_rate=1.0))
    out = t.transform_text(text.replace(FIM.file_sep, ""), random.Random(seed))
    # Exactly the transform's own structural sentinels are left (one of each for a rearranged file).
    if len(text.replace(FIM.file_sep, "")) >= 5:
        assert [out.count(s) for s in FIM.structural()] == [1, 1, 1]
    assert out.count(FIM.eot) == 0 and out.count(FIM.pad) == 0


def test_rates_are_honoured_over_10k_documents():
    t = FimTransformer(FimTransformConfig(fim_rate=0.3, psm_spm_split=0.8, spm_variant="dolma"))
    psm = spm = 0
    rng = random.Random(7)
    for _ in range(10_000):
        out = t.transform_text("def f(x):\n    return x + 1\n", rng)
        # With the Dolma variant the first sentinel tells the layouts apart even for an empty prefix.
        if out.startswith(FIM.suffix):
            spm += 1
        elif out.startswith(FIM.prefix):
            psm += 1
    n = psm + spm
    # 10k Bernoulli(0.3): sd ~46, so +-4 sd is +-0.018; PSM share of n~3000: sd ~0.0073, 4 sd ~0.03.
    assert abs(n / 10_000 - 0.3) < 0.02
    assert abs(psm / n - 0.8) < 0.03


def test_golden_records_per_mode():
    text = "def add(a, b):\n    return a + b\n"
    cases = {  # (span, spm variant, seed): hand-checked output
        ("line", "paper", 5): "<|fim_prefix|><|fim_suffix|>    return a + b\n<|fim_middle|>def add(a, b):\n",
        ("char", "dolma", 3): "<|fim_suffix|>b\n<|fim_prefix|>def add(a, b):\n    retu<|fim_middle|>rn a + ",
    }
    for (span, spm, seed), expected in cases.items():
        t = FimTransformer(FimTransformConfig(fim_rate=1.0, psm_spm_split=0.0, span=span, spm_variant=spm))
        assert t.transform_text(text, random.Random(seed)) == expected
    t = FimTransformer(FimTransformConfig(fim_rate=1.0, psm_spm_split=1.0, span="ast", eot=True))
    assert t.transform_text(text, random.Random(0), "python") == (
        "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n<|fim_middle|>return a + b<|endoftext|>"
    )


def test_short_files_and_rate_zero_are_left_alone_but_sanitized():
    t = FimTransformer(FimTransformConfig(fim_rate=1.0))
    assert t.transform_text("ab", random.Random(0)) == "ab"
    t0 = FimTransformer(FimTransformConfig(fim_rate=0.0))
    hostile = "s = '<|fim_middle|>'\n"
    out = t0.transform_text(hostile, random.Random(0))
    assert "<|fim_middle|>" not in out and decode_document(out, t0.family) == hostile


def test_dolma_token_flags_make_a_custom_family():
    cfg = FimTransformConfig(fim_rate=1.0, psm_spm_split=1.0, fim_prefix_token="<fim_prefix>",
                             fim_middle_token="<fim_middle>", fim_suffix_token="<fim_suffix>", file_separator_token="<file_sep>")
    t = FimTransformer(cfg)
    out = t.transform_text("abcdefgh<file_sep>ijklmnop", random.Random(1))
    assert out.startswith("<fim_prefix>") and "<file_sep><fim_prefix>" in out
    assert decode_document(out, t.family) == "abcdefgh<file_sep>ijklmnop"


@pytest.mark.parametrize("rate", [-0.1, 1.5, 5.0])
def test_fim_rate_is_a_probability_and_dolmas_5_is_explained(rate):
    with pytest.raises(FimkitError, match="5.0.*--fim-rate 1.0"):
        FimTransformConfig(fim_rate=rate)


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with write_jsonl(path) as write:
        for r in rows:
            write(r)


def _corpus(tmp_path, n_files=4, n_rows=30):
    def rows(f):
        return [{"id": f"{f}-{i}", "text": f"def f{i}(x):\n    return x * {i} + {f}\n", "meta": {"k": i}}
                for i in range(n_rows)]

    for f in range(n_files):
        _write(tmp_path / "in" / (f"shard{f}.jsonl" + (".zst" if f % 2 else "")), rows(f))
    return tmp_path / "in"


def test_same_seed_byte_identical_whatever_the_process_count(tmp_path):
    src = _corpus(tmp_path)
    cfg = FimTransformConfig(fim_rate=0.5, seed=11)
    run_fim([str(src)], tmp_path / "one", cfg, processes=1)
    run_fim([str(src)], tmp_path / "two", cfg, processes=2)
    run_fim([str(src)], tmp_path / "other", FimTransformConfig(fim_rate=0.5, seed=12), processes=1)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == ["shard0.jsonl", "shard1.jsonl.zst", "shard2.jsonl", "shard3.jsonl.zst"]
    for name in names:
        a = [ln.raw for ln in read_lines(tmp_path / "one" / name)]
        b = [ln.raw for ln in read_lines(tmp_path / "two" / name)]
        assert a == b
    assert (tmp_path / "one" / "shard0.jsonl").read_bytes() != (tmp_path / "other" / "shard0.jsonl").read_bytes()


def test_fields_and_order_are_kept(tmp_path):
    src = _corpus(tmp_path, n_files=1)
    run_fim([str(src)], tmp_path / "out", FimTransformConfig(fim_rate=1.0))
    before = [ln.record for ln in read_lines(src / "shard0.jsonl")]
    after = [ln.record for ln in read_lines(tmp_path / "out" / "shard0.jsonl")]
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert all(a["meta"] == b["meta"] and a["text"] != b["text"] for a, b in zip(after, before))
    assert all(decode_document(a["text"], FIM) == b["text"] for a, b in zip(after, before))


def test_malformed_lines_are_skipped_and_reported_or_fatal_in_strict_mode(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "hello world"}\nnot json\n{"id": 3}\n{"text": "bye bye all"}\n')
    stats = transform_file(src, tmp_path / "out.jsonl", FimTransformConfig(), source_key="in.jsonl")
    assert stats.records == 2 and [(ln, r[:12]) for _, ln, r in stats.bad_lines] == [(2, "not valid JS"), (3, "field 'text'")]
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2
    with pytest.raises(BadRecordError, match=r"in\.jsonl:2: not valid JSON"):
        transform_file(src, tmp_path / "strict.jsonl", FimTransformConfig(), source_key="in.jsonl", strict=True)
    assert not (tmp_path / "strict.jsonl").exists()  # no partial output


def test_cli_fim_end_to_end(tmp_path, capsys):
    from fimkit.cli import main

    src = _corpus(tmp_path, n_files=2, n_rows=5)
    assert main(["fim", "--inputs", str(src), "--output", str(tmp_path / "out"), "--fim-rate", "1", "--eot", "--seed", "3"]) == 0
    assert "10 records, 10 of 10 files rearranged" in capsys.readouterr().out
    assert main(["fim", "--inputs", str(src), "--output", str(tmp_path / "o2"), "--fim-rate", "5.0"]) == 2
    assert "--fim-rate: expected a number from 0 to 1, got 5.0" in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "shard0.jsonl").read_text().splitlines()[0])["text"].endswith("<|endoftext|>")


def test_inputs_are_never_rewritten_in_place(tmp_path):
    src = _corpus(tmp_path, n_files=2, n_rows=3)
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    one = next(p for p in before if p.suffix == ".jsonl")
    for output in (src, one.parent):  # the input folder itself; a folder holding an input file
        with pytest.raises(FimkitError, match="would overwrite the input"):
            run_fim([str(src)], output, FimTransformConfig())
    with pytest.raises(FimkitError, match="would overwrite the input"):
        run_fim([str(one)], one.parent, FimTransformConfig())
    assert {p: p.read_bytes() for p in before} == before


def test_output_naming_a_file_is_a_clear_error(tmp_path, capsys):
    from fimkit.cli import main

    src = _corpus(tmp_path, n_files=1, n_rows=2)
    (tmp_path / "taken.txt").write_text("x")
    assert main(["fim", "--inputs", str(src), "--output", str(tmp_path / "taken.txt")]) == 2
    err = capsys.readouterr().err
    assert "is a file; give a folder" in err and "Traceback" not in err
