"""``fimkit adapt REPO... --output DIR``: a model adapted to your repositories, and an honest verdict.

The stages are today's, in one resumable run folder that describes itself:
split (split.json: decided before training) -> training records (data/train.jsonl) -> LoRA within
the time budget (run/) -> the adapter as a llama.cpp GGUF (adapter.gguf; with the fim objective,
which adds tokens, or a full fine-tune, a merged model.gguf) -> base vs adapted on held-out holes of the same
repositories, and on HumanEval single-line for forgetting, through ``run_completion`` as served
(eval/, eval-general/) -> report.md, adapt-summary.json and fimkit.json.

fimkit.json makes DIR a model reference for every verb (``--model DIR``): it names the adapted
model only when it measured significantly better on held-out code (paired 95% interval of exact
match above zero) and not significantly worse on HumanEval; otherwise DIR serves the base, and the
report says why. Running the same command again resumes at the first unfinished stage; other
settings (the budget aside) are refused, since they would make a different run.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from fimkit.adapt.config import BEFORE_THE_SETTING, FREE_ON_RESUME, AdaptConfig, resolve_objective
from fimkit.adapt.records import training_records
from fimkit.adapt.report import recommend, report_chart, report_markdown
from fimkit.adapt.split import split_repositories
from fimkit.console import library_output_to
from fimkit.data.jsonl import write_jsonl
from fimkit.errors import FimkitError
from fimkit.eval.holes import HoleConfig, holes_in
from fimkit.eval.runner import Contender, EvalConfig, run_eval
from fimkit.eval.task import Task
from fimkit.fileio import write_json, write_text
from fimkit.runs import ADAPTER, MODEL, read_meta, write_meta
from fimkit.settings import diff_settings, read_yaml_mapping, to_mapping
from fimkit.train.examples import is_held_out

HOLE_KINDS = ("line", "block", "condition", "arguments")  # one line, several lines, and mid-line
MIN_TRAIN_CHARS = 20_000  # below this there is nothing to adapt to
MIN_HOLES = 20  # below this no paired test can tell a difference


def run_adapt(repos: list[str], output: str | Path, config: AdaptConfig = AdaptConfig(), *, progress: bool = False,
              log=print) -> dict:
    if not repos:
        raise FimkitError("name at least one repository folder to adapt to")
    for repo in repos:
        if not Path(repo).expanduser().is_dir():
            raise FimkitError(f"{repo}: not a folder; fimkit adapt takes the folders of your repositories")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise FimkitError(f"--output {out} is a file; name a folder for the run")
    from fimkit.models import resolve_model

    base = resolve_model(config.model, progress=progress, log=log)
    if base.kind != "gguf" or base.lora is not None:
        raise FimkitError(f"--model {config.model}: adapt serves and judges through llama.cpp, so the base must be a "
                          "GGUF (an embedded model or a .gguf file); export a Hugging Face folder first (fimkit export)")
    _check_resume(out, repos, config)
    log(f"library output (torch, transformers, llama.cpp) goes to {out / 'adapt.log'}")
    with library_output_to(out / "adapt.log"):
        return _Adapt(out, repos, config, progress, log).run()


def _check_resume(out: Path, repos: list[str], config: AdaptConfig) -> None:
    saved = out / "adapt.yaml"
    mapping = {"repos": [str(Path(r).expanduser().resolve()) for r in repos], **to_mapping(config)}
    if saved.is_file():
        ignore = FREE_ON_RESUME if config.merges else (*FREE_ON_RESUME, "quant")  # an adapter is not quantized
        changes = diff_settings(read_yaml_mapping(saved), mapping, ignore=ignore, defaults=BEFORE_THE_SETTING)
        if changes:
            listing = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items())
            raise FimkitError(f"{out} holds an adapt run with other settings ({listing}); use a new --output, "
                              "or the same settings to resume it")
    elif out.exists() and any(out.iterdir()):
        raise FimkitError(f"{out} exists and is not a fimkit adapt folder; choose a new --output")
    out.mkdir(parents=True, exist_ok=True)
    import yaml

    write_text(saved, yaml.safe_dump(mapping, sort_keys=False))
    if not (out / "fimkit.json").is_file():
        write_meta(out, {"kind": "adapted", "base_model": _portable(config.model), "serve": None})


def _portable(model: str) -> str:
    """A model reference that still resolves from another folder: a path made absolute."""
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


class _Adapt:
    def __init__(self, out: Path, repos: list[str], config: AdaptConfig, progress: bool, log):
        self.out, self.repos, self.cfg, self.progress, self.log = out, repos, config, progress, log
        self.timings: dict[str, float] = {}
        self.objective = resolve_objective(config)

    def step(self, name: str, fn):
        self.log(f"== {name}")
        start = time.perf_counter()
        result = fn()
        self.timings[name] = round(time.perf_counter() - start, 1)
        return result

    def run(self) -> dict:
        cfg = self.cfg
        split = self.split_ = self.step("split", self.split)
        self.accepted_train, self.accepted_eval = self.usage()
        self.step("records", lambda: self.records(split))
        run_dir = self.step("train", self.train)
        served = self.step("adapter", lambda: self.adapter(run_dir))
        tasks = self.holes(split)
        base = Contender(cfg.model, "auto")
        adapted = Contender(cfg.model, "auto", lora=str(served)) if served.name == "adapter.gguf" \
            else Contender(str(served), "auto")
        econfig = EvalConfig(threads=cfg.threads, seed=cfg.seed)
        repo_rows = self.step("eval", lambda: self.evaluate([base, adapted], tasks, econfig, "eval"))
        general_rows = []
        if cfg.general_tasks:
            from fimkit.eval.tasks import load_tasks

            general = load_tasks("humaneval-single", limit=cfg.general_tasks, seed=cfg.seed)
            general_rows = self.step("general", lambda: self.evaluate(
                [base, adapted], general, EvalConfig(threads=cfg.threads, single_line=True), "eval-general"))
        return self.finish(split, run_dir, served, base, adapted, repo_rows, general_rows)

    def split(self):
        cfg = self.cfg
        split = split_repositories(self.repos, method=cfg.split, heldout_fraction=cfg.heldout_fraction, seed=cfg.seed)
        info = split.describe()
        saved = self.out / "split.json"
        if saved.is_file():
            before = json.loads(saved.read_text(encoding="utf-8"))
            if {k: before.get(k) for k in info} != info:
                raise FimkitError(f"the repositories changed since {self.out} was started (its split.json lists other "
                                  "files, lines or commits): the trained model and the held-out code would not match; "
                                  "use a new --output")
        write_json(saved, info)
        self.log(f"split by {split.method}: {len(split.train)} training files ({info['train_bytes'] / 1e3:.0f} kB), "
                 f"{len(split.heldout)} held-out files ({info['heldout_lines']} lines)"
                 + (f"; cut at {', '.join(f'{r} {c[:10]}' for r, c in split.cuts.items())}" if split.cuts else ""))
        if info["train_bytes"] < MIN_TRAIN_CHARS or not split.heldout:
            raise FimkitError(
                f"too little code to adapt to and judge fairly: {info['train_bytes'] / 1e3:.1f} kB of training code "
                f"(needs {MIN_TRAIN_CHARS // 1000} kB) and {len(split.heldout)} held-out files; add repositories, "
                "or --split files on a repository with little history")
        return split

    def usage(self) -> tuple[list[dict], list[dict]]:
        """Accepted completions from the telemetry database, half for training and half held out
        (by a hash of the completion id, the same halves on every run)."""
        if not self.cfg.usage:
            return [], []
        from fimkit.data.usage import accepted_completions

        accepted = accepted_completions(self.cfg.usage)
        held = [a for a in accepted if is_held_out(a["source"], 0.5, self.cfg.seed)]
        # Accepted text lives on in the user's files: none from a held-out file may be trained on.
        heldout_files = [f.path for f in self.split_.heldout]
        train = [a for a in accepted if a not in held
                 and not any((a["filename"] or "").endswith(p) for p in heldout_files)]
        self.log(f"{len(accepted)} accepted completions in {self.cfg.usage}: {len(train)} to train on, "
                 f"{len(held)} held out")
        return train, held

    def records(self, split) -> None:
        path = self.out / "data" / "train.jsonl"
        if path.is_file():
            return
        cfg, count = self.cfg, 0
        with write_jsonl(path) as write:
            for record in training_records(split.train, objective=self.objective, chunk_chars=cfg.seq_len * 3 - 100,
                                           fim_rate=cfg.fim_rate, seed=cfg.seed, accepted=self.accepted_train):
                write(record)
                count += 1
        self.log(f"{count} training records from {len(split.train)} files")

    def train(self) -> Path:
        from fimkit.train.config import load_config
        from fimkit.train.trainer import train

        cfg, run_dir = self.cfg, self.out / "run"
        if (run_dir / (MODEL if cfg.method == "full" else ADAPTER)).is_dir():
            self.log(f"{run_dir} is trained already")
            return run_dir
        fim = self.objective == "fim"
        tcfg = load_config(None, {
            "model": cfg.model, "data": str(self.out / "data" / "train.jsonl"), "output": str(run_dir),
            # A FIM base keeps its own format (no tokens added: the adapter stays an adapter).
            "fim_format": "auto" if fim else "prefix-only", "loss": cfg.loss if fim else "all",
            "seq_len": cfg.seq_len, "max_minutes": cfg.minutes, "seed": cfg.seed, "eval_fraction": 0.02,
            "eval_every": 10_000, "save_every": 30 if cfg.method == "full" else 10, "lora.rank": cfg.rank, "lora.alpha": 2 * cfg.rank,
            "method": cfg.method, "softmax": cfg.softmax, "optim.lr": cfg.lr, "optim.epochs": 1.0, "optim.warmup_steps": 5,
            "optim.batch_size": cfg.batch_size, "optim.grad_accum": cfg.grad_accum})
        return train(tcfg, progress=self.progress, log=self.log, allow_config_change=True)

    def adapter(self, run_dir: Path) -> Path:
        """The adapter GGUF llama.cpp applies on top of the base; a merged, quantized GGUF when the
        run added FIM tokens (an adapter cannot carry them) or trained every weight."""
        meta = read_meta(run_dir)
        full = meta.get("method") == "full"
        if not meta.get("added_tokens") and not full:
            path = self.out / "adapter.gguf"
            if not path.is_file():
                from fimkit.export.lora import export_lora

                export_lora(run_dir, path, log=self.log)
            return path
        path = self.out / "model.gguf"
        if not path.is_file():
            from fimkit.export.exporter import export
            from fimkit.train.merge import merge

            merged = run_dir / MODEL if full else self.out / "merged"
            if not (merged / "fimkit.json").is_file():
                merge(run_dir, merged, log=self.log)
            export(merged, path, quant=self.cfg.quant, log=self.log)
        return path

    def holes(self, split) -> list:
        cfg = self.cfg
        rng = random.Random(cfg.seed)
        hole_config = HoleConfig(per_file=16, kinds=HOLE_KINDS, seed=cfg.seed)
        tasks = []
        for f in split.heldout:
            if f.language in hole_config.languages:
                tasks += holes_in(f.text.encode("utf-8"), f"{f.repo}/{f.path}", f.language, hole_config, rng, f.lines)
        random.Random(cfg.seed).shuffle(tasks)
        tasks = tasks[: cfg.holes] + [
            Task(a["source"], a["prefix"], a["suffix"], a["middle"], language=a["language"], kind="accepted",
                 path=a["filename"]) for a in self.accepted_eval]
        if len(tasks) < min(MIN_HOLES, cfg.holes):
            raise FimkitError(f"only {len(tasks)} holes could be cut from the held-out code (needs {MIN_HOLES}): "
                              "adapt judges on Python or JavaScript functions; add repositories or raise "
                              "--heldout-fraction")
        self.log(f"{len(tasks)} held-out holes ({', '.join(f'{k} {sum(t.kind == k for t in tasks)}' for k in HOLE_KINDS)})")
        return tasks

    def evaluate(self, contenders, tasks, econfig, name: str):
        results, _ = run_eval(contenders, tasks, econfig, output=self.out / name, progress=self.progress, log=self.log)
        ids = {t.id for t in tasks}
        return [r for r in results.rows.values() if r.task_id in ids]

    def finish(self, split, run_dir, served, base, adapted, repo_rows, general_rows) -> dict:
        cfg = self.cfg
        run_meta = read_meta(run_dir)
        verdict = recommend(repo_rows, general_rows, base.label, adapted.label)
        use = verdict["recommended"] == "adapted"
        base_ref = _portable(cfg.model)
        serve = ({"model": base_ref, "lora": served.name} if use and served.name == "adapter.gguf"
                 else {"model": served.name, "lora": None} if use else {"model": base_ref, "lora": None})
        summary = {
            "repos": [str(Path(r).resolve()) for r in self.repos], "split": split.describe() | {"train_files": len(split.train), "heldout_files": len(split.heldout)},
            "objective": self.objective, "minutes_budget": cfg.minutes,
            "training": {k: run_meta.get(k) for k in ("steps", "tokens", "train_seconds", "stopped", "train_examples")},
            "served_file": served.name, "served_bytes": served.stat().st_size, "timings_s": self.timings, **verdict,
            "serve": serve,
        }
        if cfg.usage:
            from fimkit.data.usage import accept_rates

            summary["accept_rates"] = accept_rates(cfg.usage)
        write_json(self.out / "adapt-summary.json", summary)
        write_text(self.out / "report.md", report_markdown(summary))
        try:
            report_chart(summary, self.out / "report.png")
        except ImportError:  # matplotlib comes with the eval extra; the table says it all without it
            pass
        meta = read_meta(self.out)
        meta.update(kind="adapted", base_model=base_ref, serve=serve, recommended=verdict["recommended"])
        write_meta(self.out, meta)
        return summary
