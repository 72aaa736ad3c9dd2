"""The training loop's parts (the logged loss, the schedule, the resume check) and a short real run."""

import json

import pytest

from fimkit.errors import FimkitError
from fimkit.train.config import load_config, to_yaml
from fimkit.train.trainer import check_resume, lr_factor, step_stats, train


def test_logged_loss_is_the_mean_over_the_accumulation_window():
    torch = pytest.importorskip("torch")
    window = [torch.tensor(1.0), torch.tensor(2.0), torch.tensor(6.0)]
    assert step_stats(window, 30, 4.0, torch) == (3.0, 30, 4.0)  # not 6.0, the last micro-batch
    other = torch.tensor([3.0, 3, 10, 6.0], dtype=torch.float64)  # another process: losses summing to 3, 10 tokens
    loss, tokens, elapsed = step_stats(window, 30, 4.0, torch, reduce_sum=lambda t: t + other, world=2)
    assert (loss, tokens, elapsed) == (2.0, 40, 5.0)  # (9 + 3) / 6 micro-batches; mean elapsed


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    assert [lr_factor(s, 100, 4) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    decay = [lr_factor(s, 100, 4) for s in range(4, 101)]
    assert decay[0] == 1.0 and decay[-1] == pytest.approx(0.1) and decay == sorted(decay, reverse=True)


def _run_with_a_checkpoint(tmp_path, cfg):
    run = tmp_path / "run"
    (run / "checkpoints" / "step-0000002").mkdir(parents=True)
    (run / "checkpoints" / "step-0000002" / "state.json").write_text('{"step": 2}')
    (run / "hyperparameters.yaml").write_text(to_yaml(cfg))
    return run


def test_resume_is_refused_when_settings_changed(tmp_path):
    cfg = load_config(None, {"output": str(tmp_path / "run")})
    run = _run_with_a_checkpoint(tmp_path, cfg)
    saved = (run / "hyperparameters.yaml").read_text()
    assert check_resume(run, cfg, allow_change=False, log=print).name == "step-0000002"
    budgets = load_config(None, {"output": "elsewhere", "max_steps": 9, "max_minutes": 2, "eval_every": 1, "save_every": 1})
    assert check_resume(run, budgets, allow_change=False, log=print) is not None
    changed = load_config(None, {"optim.lr": 3e-4, "lora.rank": 8})
    with pytest.raises(FimkitError) as err:
        check_resume(run, changed, allow_change=False, log=print)
    message = str(err.value)
    assert "optim.lr: 0.0002 -> 0.0003" in message and "lora.rank: 16 -> 8" in message
    assert "--allow-config-change" in message and "new --output" in message
    logged = []
    assert check_resume(run, changed, allow_change=True, log=logged.append) is not None
    assert "optim.lr" in logged[0]
    assert (run / "hyperparameters.yaml").read_text() == saved


def test_train_checks_data_and_settings_before_loading_the_model(tmp_path):
    with pytest.raises(FimkitError, match="nope.jsonl: no such file; make one with `fimkit samples` or `fimkit fim`"):
        train(load_config(None, {"model": "no-such-model", "data": str(tmp_path / "nope.jsonl")}))
    pytest.importorskip("accelerate")
    data = tmp_path / "d.jsonl"
    data.write_text("{}\n")
    cfg = load_config(None, {"model": "no-such-model", "data": str(data), "output": str(tmp_path / "run")})
    run = _run_with_a_checkpoint(tmp_path, cfg)
    cfg.seq_len = 128
    with pytest.raises(FimkitError, match="seq_len: 512 -> 128.*--allow-config-change"):
        train(cfg)
    assert "seq_len: 512" in (run / "hyperparameters.yaml").read_text()


@pytest.mark.slow
def test_accumulation_resume_and_schedule(tmp_path):
    """grad_accum 2: one row per optimizer step; the schedule continues where the checkpoint left it."""
    from conftest import build_tiny_model, build_tiny_tokenizer

    from fimkit.data.jsonl import write_jsonl
    from fimkit.data.seed import SamplesConfig, make_examples

    tok = build_tiny_tokenizer("fimkit")
    build_tiny_model("llama", len(tok)).save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    with write_jsonl(tmp_path / "d.jsonl") as write:
        for ex in make_examples(SamplesConfig(count=40)):
            write(ex)
    settings = {"model": str(tmp_path / "base"), "data": str(tmp_path / "d.jsonl"), "output": str(tmp_path / "run"),
                "fim_format": "fimkit:psm", "seq_len": 256, "optim.batch_size": 2, "optim.grad_accum": 2,
                "optim.warmup_steps": 2, "max_steps": 3, "save_every": 1, "eval_every": 2, "eval_fraction": 0.3}
    logged = []
    train(load_config(None, settings), log=logged.append)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3] and "eval_loss" in rows[1]
    assert [r["lr"] for r in rows] == pytest.approx([2e-4 * lr_factor(s, 3, 2) for s in range(3)])
    last = sorted((tmp_path / "run" / "checkpoints").glob("step-*"))[-1]
    assert {"adapter.pt", "optimizer.pt", "scheduler.pt", "rng.pt", "state.json"} <= {p.name for p in last.iterdir()}

    with pytest.raises(FimkitError, match="optim.lr"):
        train(load_config(None, {**settings, "max_steps": 5, "optim.lr": 1e-4}))
    train(load_config(None, {**settings, "max_steps": 5}), log=logged.append)  # a bigger budget is no change
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5] and any("resuming from" in m for m in logged)
    assert rows[3]["lr"] == pytest.approx(2e-4 * lr_factor(3, 5, 2))
    train(load_config(None, {**settings, "max_steps": 6, "optim.lr": 1e-4}), log=logged.append, allow_config_change=True)
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 6 and rows[-1]["lr"] == pytest.approx(1e-4 * lr_factor(5, 6, 2))
    assert any("changed settings: optim.lr: 0.0002 -> 0.0001" in m for m in logged)
    assert "lr: 0.0001" in (tmp_path / "run" / "hyperparameters.yaml").read_text()
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").exists()


def test_a_time_budget_ends_the_schedule_where_the_budget_ends():
    from types import SimpleNamespace

    from fimkit.train.trainer import _Training

    logged = []
    t = SimpleNamespace(cfg=SimpleNamespace(max_minutes=10.0), state={"step": 3, "elapsed": 30.0}, total=500,
                        planned=500, steps_per_epoch=100, log=logged.append, bar=None)
    _Training.fit_schedule(t)  # 10 s a step: 60 steps fit in 10 minutes
    assert t.total == 60 and "fits about 60 of 500 steps (0.60 epochs)" in logged[0]
    t.state = {"step": 30, "elapsed": 200.0}  # faster than first timed: the schedule stretches again
    _Training.fit_schedule(t)
    assert t.total == 90 and len(logged) == 1
    t.state = {"step": 50, "elapsed": 590.0}  # slower: never ends before the next step
    _Training.fit_schedule(t)
    assert t.total == 51
    t.state = {"step": 3, "elapsed": 0.3}  # fast hardware: never past the epochs asked for
    _Training.fit_schedule(t)
    assert t.total == 500
    t.cfg, t.total = SimpleNamespace(max_minutes=None), 77  # no budget: untouched
    _Training.fit_schedule(t)
    assert t.total == 77
