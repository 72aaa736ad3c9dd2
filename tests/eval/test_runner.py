"""run_eval and `fimkit eval` end to end on a tiny real GGUF through llama.cpp and the sandbox."""

import json

import pytest

from fimkit.eval.report import summarize, write_reports
from fimkit.eval.runner import Contender, EvalConfig, ResultLog, run_eval
from fimkit.eval.tasks import load_tasks

pytestmark = pytest.mark.slow


def test_eval_runs_scores_resumes_and_reports(tiny_fim_gguf, tmp_path):
    tasks = load_tasks("humaneval-single", limit=4)
    contenders = [Contender(str(tiny_fim_gguf), "prefix-only"), Contender(str(tiny_fim_gguf), "psm")]
    config = EvalConfig(max_tokens=8, single_line=True)
    results, sandbox = run_eval(contenders, tasks, config, output=tmp_path)
    rows = list(results.rows.values())
    assert len(rows) == 8 and all(r.exec_status in ("passed", "failed", "timeout") for r in rows)
    assert {r.contender for r in rows} == {c.label for c in contenders}
    # Resume: nothing new is generated, the log is read back whole.
    lines_before = (tmp_path / "results.jsonl").read_text().count("\n")
    again, _ = run_eval(contenders, tasks, config, output=tmp_path)
    assert (tmp_path / "results.jsonl").read_text().count("\n") == lines_before
    assert set(again.rows) == set(results.rows)
    # An interrupted line at the end is ignored, the rest kept.
    with open(tmp_path / "results.jsonl", "a") as fh:
        fh.write('{"contender": "x", "task_')
    assert len(ResultLog(tmp_path / "results.jsonl").rows) == 8
    report = summarize(rows, samples=1)
    assert set(report["contenders"]) == {c.label for c in contenders}
    assert report["comparisons"][0]["metric"] == "pass@1"
    paths, note = write_reports(report, rows, tmp_path, "test")
    assert (tmp_path / "report.md").read_text().startswith("# test") and json.loads((tmp_path / "report.json").read_text())
    assert note is None and (tmp_path / "scores.png").stat().st_size > 1000


def test_cli_eval_on_holes(tiny_fim_gguf, tmp_path, capsys):
    from fimkit.cli import main

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "m.py").write_text("def f(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total\n")
    out = tmp_path / "report"
    assert main(["eval", "--model", str(tiny_fim_gguf), "--benchmark", f"holes:{repo}", "--max-tokens", "8",
                 "--output", str(out)]) == 0
    md = capsys.readouterr().out
    assert "exact_match" in md and "parses" in md and (out / "report.json").exists()
    assert main(["eval", "--benchmark", "humaneval-nope"]) == 2


def test_cli_eval_compares_repository_contexts_and_candidates(tiny_fim_gguf, tmp_path, capsys, monkeypatch):
    """--context and --candidates are contenders like --mode: one report, paired on the same holes."""
    from fimkit.cli import main

    monkeypatch.setenv("FIMKIT_HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ops.py").write_text("def scale(values, factor, *, offset=0):\n    return [v * factor + offset for v in values]\n")
    (repo / "m.py").write_text("from ops import scale\n\n\ndef f(xs):\n    total = 0\n    for x in scale(xs, 2):\n"
                               "        total += x\n    return total\n")
    out = tmp_path / "report"
    assert main(["eval", "--model", str(tiny_fim_gguf), "--benchmark", f"holes:{repo}", "--max-tokens", "4",
                 "--mode", "prefix-only", "--context", "none,workspace", "--candidates", "1,2",
                 "--output", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["contenders"]) == {"tiny-fim.gguf:prefix-only", "tiny-fim.gguf:prefix-only:workspace",
                                         "tiny-fim.gguf:prefix-only:c2", "tiny-fim.gguf:prefix-only:c2:workspace"}
    assert main(["eval", "--benchmark", "humaneval-single", "--context", "everything"]) == 2
    assert "unknown context 'everything'" in capsys.readouterr().err
