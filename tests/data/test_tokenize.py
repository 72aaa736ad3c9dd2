import gzip
import json
import random

import numpy as np
import pytest

from fimkit.data.corpus import build_corpus
from fimkit.data.fim import FimTransformConfig, run_fim
from fimkit.data.jsonl import read_lines, write_jsonl
from fimkit.data.packed import ContextFim, PackedDataset
from fimkit.data.tokenize import TokenizeConfig, choose_dtype, read_index, run_tokenize
from fimkit.data.tokenizer import load_tokenizer
from fimkit.errors import FimkitError
from fimkit.formats import FimFormat, decode_document, get_family

FIM = get_family("fimkit")
pytestmark = pytest.mark.slow


def test_fim_tokens_are_added_in_registry_order_and_only_renderer_sentinels_are_control(tiny_hf_dir):
    tok = load_tokenizer(str(tiny_hf_dir), "fimkit")
    assert tok.added == list(FIM.sentinels())
    base = tok.vocab_size - len(tok.added)
    assert [tok.token_id(s) for s in FIM.sentinels()] == list(range(base, base + len(FIM.sentinels())))
    hostile = "x = '<|fim_prefix|>' + '<eos>'\n"
    rendered = FimFormat(FIM, "psm").render("def f():", hostile, "pass", eot=True)
    ids = tok.encode(rendered)
    control = [i for i in ids if i >= base]
    assert control == [tok.token_id(s) for s in (FIM.prefix, FIM.suffix, FIM.middle, FIM.eot)]
    assert tok.eos_id not in ids  # '<eos>' in user code stayed text
    assert tok.decode(ids) == rendered


def test_dtype_follows_the_vocabulary():
    assert choose_dtype(400, None) == "uint16" and choose_dtype(262_150, None) == "uint32"
    with pytest.raises(FimkitError, match="uint16 cannot hold.*262,150"):
        choose_dtype(262_150, "uint16")


def test_dolma_config_is_accepted_and_validated():
    cfg = TokenizeConfig.from_mapping({
        "documents": "data/*.jsonl", "destination": "out", "seed": 1, "max_size": 10, "processes": 2,
        "dtype": "uint32", "work_dir": {"input": "/tmp/a"},
        "tokenizer": {"name_or_path": "x", "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
                      "segment_before_tokenization": False},
        "fields": {"text_field_name": "content", "id_field_name": "doc_id"},
    })
    assert cfg.documents == ("data/*.jsonl",) and cfg.text_field_name == "content" and cfg.tokenizer.eos_token_id == 2
    with pytest.raises(FimkitError, match="unknown key"):
        TokenizeConfig.from_mapping({"documents": ["a"], "destination": "b", "shards": 3})
    with pytest.raises(FimkitError, match="required"):
        TokenizeConfig.from_mapping({"documents": ["a"]})


def test_round_trip_corpus_fim_tokenize_read_back(tmp_path, tiny_hf_dir):
    """corpus -> fim -> tokenize -> read back -> detokenize == the transformed text, no strip."""
    src = tmp_path / "repo"
    src.mkdir()
    for i in range(12):
        (src / f"m{i}.py").write_text(f"def f{i}(x):\n    s = '<|fim_middle|> <eos> {i}'\n    return x * {i}\n\n\n" * (i + 1))
    kept = build_corpus([str(src)], tmp_path / "corpus.jsonl.gz").kept
    run_fim([str(tmp_path / "corpus.jsonl.gz")], tmp_path / "fim", FimTransformConfig(fim_rate=0.5, eot=True, seed=2))
    cfg = TokenizeConfig(documents=(str(tmp_path / "fim"),), destination=str(tmp_path / "tok"), max_size=300,
                         tokenizer=_section(str(tiny_hf_dir), bos=1, eos=2))
    stats = run_tokenize(cfg)
    assert stats.documents == kept >= 10 and stats.parts > 1  # max_size rolled parts over
    meta = json.loads((tmp_path / "tok" / "tokens.json").read_text())
    assert meta["dtype"] == "uint16"
    records = [ln.record for ln in read_lines(tmp_path / "fim" / "corpus.jsonl.gz")]
    originals = [ln.record for ln in read_lines(tmp_path / "corpus.jsonl.gz")]
    tok = load_tokenizer(str(tiny_hf_dir), "fimkit")
    seen = 0
    for npy, rows in read_index(tmp_path / "tok"):
        data = np.fromfile(npy, dtype=meta["dtype"])  # a raw memmap: no header
        assert rows[-1][1] == len(data)
        for start, end, doc_id, _src_path, loc in rows:
            ids = data[start:end]
            assert ids[0] == 1 and ids[-1] == 2
            text = tok.decode(ids[1:-1])
            assert text == records[loc - 1]["text"] and doc_id == records[loc - 1]["id"]
            assert decode_document(text, FIM) == originals[loc - 1]["text"]
            seen += 1
    assert seen == kept


def _section(path, bos=None, eos=None):
    from fimkit.data.tokenize import TokenizerSection

    return TokenizerSection(name_or_path=path, bos_token_id=bos, eos_token_id=eos)


def test_bad_lines_skipped_or_strict(tmp_path, tiny_hf_dir):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "a b c"}\n{oops\n{"text": 5}\n')
    cfg = TokenizeConfig(documents=(str(tmp_path / "in"),), destination=str(tmp_path / "t"), tokenizer=_section(str(tiny_hf_dir)))
    stats = run_tokenize(cfg)
    assert stats.documents == 1 and [b[1] for b in stats.bad_lines] == [2, 3]
    from dataclasses import replace

    with pytest.raises(FimkitError, match=r"a\.jsonl:2"):
        run_tokenize(replace(cfg, destination=str(tmp_path / "t2"), strict=True))
    assert not list((tmp_path / "t2").glob("part-*"))


def test_packed_reader_and_context_level_fim(tmp_path, tiny_hf_dir):
    (tmp_path / "in").mkdir()
    with write_jsonl(tmp_path / "in" / "docs.jsonl") as write:
        for i in range(30):
            write({"id": i, "text": f"def add_{i}(a, b):\n    return a + b + {i}\n"})
    cfg = TokenizeConfig(documents=(str(tmp_path / "in"),), destination=str(tmp_path / "t"),
                         tokenizer=_section(str(tiny_hf_dir), eos=2), max_size=200)
    stats = run_tokenize(cfg)
    ds = PackedDataset(tmp_path / "t", seq_len=64)
    assert len(ds) == stats.tokens // 64
    stream = np.concatenate([ds[i] for i in range(len(ds))])
    assert stream.tolist() == ds.tokens(0, len(ds) * 64).tolist()  # windows tile the stream across parts
    tok = load_tokenizer(str(tiny_hf_dir), "fimkit")
    cfim = ContextFim(tok, fim_rate=1.0, eos_id=2)
    window = ds[1]
    out = cfim.apply(window, random.Random(0))
    assert len(out) == 64
    assert tok.token_id(FIM.prefix) in out
    pad = tok.token_id(FIM.pad)
    assert all(t == pad for t in out[len(out) - out[::-1].index(next(t for t in out[::-1] if t != pad)):])


def test_cli_tokenize_with_a_dolma_yaml(tmp_path, tiny_hf_dir, capsys):
    from fimkit.cli import main

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.jsonl").write_text('{"id": "x", "text": "def f():\\n    return 1\\n\\n"}\n')
    (tmp_path / "tokens.yaml").write_text(
        f"documents: [{tmp_path / 'docs'}/*.jsonl]\ndestination: {tmp_path / 'out'}\nprocesses: 1\n"
        f"tokenizer:\n  name_or_path: {tiny_hf_dir}\n  eos_token_id: 2\n"
    )
    assert main(["tokenize", "-c", str(tmp_path / "tokens.yaml")]) == 0
    assert "1 documents" in capsys.readouterr().out
    rows = gzip.open(tmp_path / "out" / "part-00000-00000.csv.gz", "rt").read().splitlines()
    assert rows[0].split(",")[2:] == ["x", str(tmp_path / "docs" / "a.jsonl"), "1"]
    (tmp_path / "bad.yaml").write_text("documents: [\n")
    assert main(["tokenize", "-c", str(tmp_path / "bad.yaml")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


@pytest.mark.integration
def test_embedded_gemma_tokenizer(gemma_gguf):
    tok = load_tokenizer("gemma-3-270m", "fimkit")
    assert tok.vocab_size == 262_144 + len(FIM.sentinels()) and choose_dtype(tok.vocab_size, None) == "uint32"
    assert (tok.bos_id, tok.eos_id) == (2, 1)
    text = FimFormat(FIM, "spm-paper").render("print('<eos>')\n", "\n", "x = 1", eot=True)
    ids = tok.encode(text)
    assert tok.decode(ids) == text and 1 not in ids
    assert sum(i >= 262_144 for i in ids) == 4  # PRE SUF MID EOT, nothing from the user's text
