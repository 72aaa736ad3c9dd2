"""The split fimkit adapt decides before training, and the records it trains on."""

import subprocess

import pytest

from fimkit.adapt.records import pieces, training_records
from fimkit.adapt.split import SourceFile, split_repositories
from fimkit.errors import FimkitError


def module(i: int, extra: str = "") -> str:
    return (f"import os\n\n\ndef helper_{i}(path, size={i}):\n    name = os.path.basename(path)\n"
            f"    if len(name) > size:\n        name = name[:size]\n    return name.upper()\n{extra}")


def make_repo(root, files: int = 30):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / f"mod_{i}.py").write_text(module(i))
    return root


def git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def test_file_split_is_disjoint_deterministic_and_keyed_by_path(tmp_path):
    repo = make_repo(tmp_path / "proj", 60)
    a = split_repositories([str(repo)], method="files", heldout_fraction=0.25, seed=0)
    b = split_repositories([str(repo)], method="files", heldout_fraction=0.25, seed=0)
    train, held = {f.path for f in a.train}, {f.path for f in a.heldout}
    assert train and held and not train & held and len(train | held) == 60
    assert held == {f.path for f in b.heldout}  # the same files on every run
    assert 5 <= len(held) <= 25 and all(f.lines is None for f in a.heldout)
    other = split_repositories([str(repo)], method="files", heldout_fraction=0.25, seed=1)
    assert {f.path for f in other.heldout} != held
    assert split_repositories([str(repo)], heldout_fraction=0.25).method == "files"  # auto, no git


def test_history_split_trains_on_the_past_and_judges_lines_written_since(tmp_path):
    repo = make_repo(tmp_path / "proj", 10)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    (repo / "mod_3.py").write_text(module(3, "\n\ndef added_later(x):\n    y = x * 2\n    return y + 1\n"))
    (repo / "new.py").write_text(module(99))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "second")
    split = split_repositories([str(repo)], heldout_fraction=0.1)
    assert split.method == "history" and len(split.cuts["proj"]) == 40
    assert "added_later" not in "".join(f.text for f in split.train)  # the code as of the cut
    assert {f.path for f in split.train} == {f"mod_{i}.py" for i in range(10)}
    held = {f.path: f for f in split.heldout}
    assert set(held) == {"mod_3.py", "new.py"}
    lines = held["mod_3.py"].text.split("\n")
    assert {lines[n] for n in held["mod_3.py"].lines} >= {"def added_later(x):", "    y = x * 2"}
    assert "    name = os.path.basename(path)" not in {lines[n] for n in held["mod_3.py"].lines}
    assert held["new.py"].lines == set(range(len(held["new.py"].text.split("\n")) - 1))
    with pytest.raises(FimkitError, match="no git history"):
        split_repositories([str(make_repo(tmp_path / "plain", 3))], method="history")


def test_bad_split_settings_are_refused(tmp_path):
    with pytest.raises(FimkitError, match="not a folder"):
        split_repositories([str(tmp_path / "missing")])
    with pytest.raises(FimkitError, match="split must be one of"):
        split_repositories([str(tmp_path)], method="dates")
    with pytest.raises(FimkitError, match="heldout_fraction"):
        split_repositories([str(tmp_path)], heldout_fraction=1.0)


def test_pieces_cut_at_lines_and_join_back():
    text = "".join(f"line {i} " + "x" * (i % 7) + "\n" for i in range(200)) + "no newline at the end"
    parts = pieces(text, 300)
    assert "".join(parts) == text
    assert all(p.endswith("\n") for p in parts[:-1]) and max(map(len, parts)) <= 300
    assert pieces("x" * 1000, 100) == ["x" * 1000]  # a long line stays whole


def test_records_end_with_eos_only_at_the_end_of_a_file_and_fim_makes_holes():
    files = [SourceFile("r", f"f{i}.py", "".join(f"value_{j} = {j}\n" for j in range(120)), "python") for i in range(3)]
    plain = list(training_records(files, objective="next-token", chunk_chars=400))
    assert all(set(r) == {"text", "eos", "source", "language"} for r in plain)
    for i in range(3):
        mine = [r for r in plain if r["source"] == f"r/f{i}.py"]
        assert "".join(r["text"] for r in mine) == files[i].text
        assert [r["eos"] for r in mine] == [False] * (len(mine) - 1) + [True]
    fim = list(training_records(files, objective="fim", chunk_chars=400, fim_rate=0.5, seed=3))
    holes = [r for r in fim if "middle" in r]
    assert 0 < len(holes) < len(fim)
    for r in holes:
        assert r["middle"].endswith("\n") and r["middle"].strip()
    assert list(training_records(files, objective="fim", chunk_chars=400, fim_rate=0.5, seed=3)) == fim
    assert not [r for r in training_records(files, objective="fim", chunk_chars=400, fim_rate=0.0) if "middle" in r]
