import gzip

import pytest

from fimkit.data.jsonl import read_lines, write_jsonl
from fimkit.errors import FimkitError
from fimkit.fileio import atomic_output


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz", "a.jsonl.zst"])
def test_round_trip_every_compression(tmp_path, name):
    records = [{"text": "x\n", "n": i, "u": "ünï <|fim_prefix|>"} for i in range(3)]
    with write_jsonl(tmp_path / name) as write:
        for r in records:
            write(r)
    assert [line.record for line in read_lines(tmp_path / name)] == records
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp files left


def test_bad_lines_are_reported_with_their_line_number(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "ok"}\n{"text": \n[1, 2]\n\n{"text": "last"}\n')
    lines = list(read_lines(path))
    assert [(ln.number, ln.error is None) for ln in lines] == [(1, True), (2, False), (3, False), (5, True)]
    assert "not valid JSON" in lines[1].error and "expected a JSON object" in lines[2].error


def test_failed_writes_leave_nothing(tmp_path):
    with pytest.raises(RuntimeError), write_jsonl(tmp_path / "out.jsonl.gz") as write:
        write({"a": 1})
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_compressed_input_is_a_clear_error(tmp_path):
    (tmp_path / "bad.jsonl.gz").write_bytes(gzip.compress(b'{"text": "x"}\n')[:-8])
    with pytest.raises(FimkitError, match="bad.jsonl.gz"):
        list(read_lines(tmp_path / "bad.jsonl.gz"))
