import ast
import hashlib

import pytest

from fimkit.data.seed import SamplesConfig, SamplesReport, load_seed_samples, make_examples
from fimkit.data.spans import parser_for

SAMPLES = load_seed_samples()


def test_seed_set_is_substantial_and_mixed():
    by_lang = {}
    for s in SAMPLES:
        by_lang.setdefault(s.language, []).append(s)
    assert len(by_lang["python"]) >= 80 and len(by_lang["javascript"]) >= 25 and len(by_lang["sql"]) >= 12
    assert any(s.name.endswith(".jsx") for s in by_lang["javascript"])  # React components
    # No two samples are the same file.
    assert len({hashlib.sha256(s.text.encode()).hexdigest() for s in SAMPLES}) == len(SAMPLES)


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.language == "python"], ids=lambda s: s.name)
def test_every_python_sample_parses(sample):
    ast.parse(sample.text, filename=sample.name)


@pytest.mark.parametrize("sample", [s for s in SAMPLES if s.language != "python"], ids=lambda s: s.name)
def test_every_javascript_and_sql_sample_parses_with_tree_sitter(sample):
    tree = parser_for(sample.language).parse(sample.text.encode("utf-8"))
    assert not tree.root_node.has_error, f"{sample.name}: syntax error"


def test_examples_cover_the_samples_with_distinct_holes_and_reassemble():
    report = SamplesReport()
    examples = list(make_examples(SamplesConfig(count=2000), report))
    texts = {s.name: s.text for s in SAMPLES}
    assert len(examples) == 2000 and report.distinct_examples == 2000
    assert report.by_language == {"python": 1200, "javascript": 600, "sql": 200}
    assert report.samples_used == len(SAMPLES) and report.distinct_lines > 5000
    for ex in examples:
        assert ex["middle"] and ex["prefix"] + ex["middle"] + ex["suffix"] == texts[ex["source"].split("/", 1)[1]]
        assert ex["text"].endswith("<|endoftext|>")
    assert len({(e["prefix"], e["middle"], e["suffix"]) for e in examples}) == 2000


def test_same_seed_same_examples():
    a = list(make_examples(SamplesConfig(count=50, seed=4)))
    b = list(make_examples(SamplesConfig(count=50, seed=4)))
    c = list(make_examples(SamplesConfig(count=50, seed=5)))
    assert a == b and a != c


def test_cli_samples(tmp_path, capsys):
    from fimkit.cli import main

    out = tmp_path / "data" / "fim_training.jsonl"
    assert main(["samples", "--output", str(out), "--count", "100", "--fim-format", "fimkit:spm-paper", "--span", "ast"]) == 0
    msg = capsys.readouterr().out
    assert "100 examples" in msg and "distinct samples" in msg and "distinct non-blank lines" in msg
    assert len(out.read_text().splitlines()) == 100
