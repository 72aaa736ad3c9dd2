import json

from fimkit.data.tokenizer import load_tokenizer
from fimkit.formats import FimFormat
from fimkit.train.examples import load_examples


def test_skipped_lines_are_reported_with_their_line_numbers(tmp_path, tiny_hf_dir):
    tok = load_tokenizer(str(tiny_hf_dir), "fimkit")
    rows = [json.dumps({"prefix": "def f(", "middle": "x", "suffix": "):\n    pass\n"}), "{not json",
            json.dumps({"prefix": 3}), json.dumps({"prefix": "a", "middle": "", "suffix": "b"})]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(rows) + "\n")
    logged = []
    train, held = load_examples(str(data), tok, FimFormat.parse_spec("fimkit:psm"), seq_len=64, loss="middle",
                                eval_fraction=0.0, seed=0, log=logged.append)
    assert len(train) + len(held) == 1
    assert "skipped 3 lines" in logged[0] and "line 2:" in logged[0] and "line 3:" in logged[0] and "line 4:" in logged[0]
