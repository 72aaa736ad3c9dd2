"""`fimkit pipeline`: the seed's train_fim_model.py in one command, with the before/after check it lacked.

samples -> data/fim_training.jsonl -> LoRA (fim-model-lora/) on the embedded FIM model, in its own FIM
format -> merge (fim-model-merged/) -> GGUF by llama.cpp's converter, quantized to q4_0 (the seed's) and
q4_k_m (fim-model-*.gguf) -> Modelfile.fim with the model's FIM template -> quick eval: single-line holes
from seed files held out of training, the base model as it is served against the fine-tuned model, both
through llama.cpp and the server's pipeline -> a summary (pipeline-summary.json). A short CPU fine-tune can
be worse than the base (fim-facts section 8): the summary then recommends the base, says so loudly,
and nothing claims otherwise.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from fimkit.console import library_output_to
from fimkit.data.jsonl import write_jsonl
from fimkit.data.seed import SamplesConfig, SamplesReport, load_seed_samples, make_examples
from fimkit.errors import FimkitError
from fimkit.eval.report import summarize
from fimkit.eval.runner import Contender, EvalConfig, run_eval
from fimkit.eval.task import Task
from fimkit.export.exporter import export
from fimkit.fileio import write_json, write_text
from fimkit.formats.ollama import modelfile_text
from fimkit.models import DEFAULT_MODEL, speaks_fim
from fimkit.train.config import fim_format_of, load_config
from fimkit.train.examples import is_held_out
from fimkit.train.merge import merge
from fimkit.train.trainer import train

PRESETS = {
    # ~15 minutes on a 2-core laptop: a taste of the whole path, not a useful model.
    "quick": {"count": 400, "train": {"seq_len": 384, "max_minutes": 7.0, "eval_every": 1000, "save_every": 10,
                                      "optim.epochs": 1, "optim.warmup_steps": 5, "optim.lr": 3e-4, "lora.rank": 8,
                                      "lora.alpha": 16}, "holes": 40, "quant": "q4_0", "also": "q4_k_m"},
    # The seed's defaults: 2,000 examples, 3 epochs, rank 16; hours on a CPU, minutes on a GPU.
    "full": {"count": 2000, "train": {}, "holes": 150, "quant": "q4_0", "also": "q4_k_m"},
}


@dataclass
class PipelinePaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data" / "fim_training.jsonl"

    @property
    def lora(self) -> Path:
        return self.root / "fim-model-lora"

    @property
    def merged(self) -> Path:
        return self.root / "fim-model-merged"

    def gguf(self, quant: str) -> Path:
        return self.root / f"fim-model-{quant}.gguf"

    @property
    def modelfile(self) -> Path:
        return self.root / "Modelfile.fim"

    @property
    def log(self) -> Path:
        return self.root / "pipeline.log"


def heldout_holes(fraction: float, seed: int, n: int):
    """Single-line holes cut from every line of the seed files that training held out."""

    tasks = []
    for sample in load_seed_samples():
        if not is_held_out(f"fimkit-seed/{sample.name}", fraction, seed):
            continue
        lines = sample.text.split("\n")
        for i, line in enumerate(lines):
            if len(line.strip()) < 6 or line.strip().startswith(("#", "//", "--", '"""')):
                continue
            prefix = "\n".join(lines[:i]) + ("\n" if i else "")
            suffix = "\n".join(lines[i + 1:])
            lang = sample.language
            tasks.append(Task(f"{sample.name}:{i + 1}", prefix, suffix, line + "\n",
                              language=lang if lang in ("python", "javascript") else None, kind="line"))
    random.Random(seed).shuffle(tasks)
    return tasks[:n]


def run_pipeline(preset: str = "quick", *, root: str | Path = ".", model: str = DEFAULT_MODEL, progress: bool = False,
                 log=print) -> dict:

    if preset not in PRESETS:
        raise FimkitError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    p = PRESETS[preset]
    paths = PipelinePaths(Path(root))
    log(f"library output (llama.cpp, torch, transformers) goes to {paths.log}")
    with library_output_to(paths.log):
        return _run(preset, p, paths, model, progress, log)


def _run(preset: str, p: dict, paths: PipelinePaths, model: str, progress: bool, log) -> dict:
    timings: dict[str, float] = {}

    def step(name, fn):
        log(f"== {name}")
        start = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - start, 1)
        return out

    report = SamplesReport()

    def samples():
        with write_jsonl(paths.data) as write:
            for ex in make_examples(SamplesConfig(count=p["count"]), report):
                write(ex)
        log(f"{report.examples} examples from {report.samples_used} samples ({report.distinct_lines} distinct lines)")

    step("samples", samples)
    cfg = load_config(None, {"model": model, "data": str(paths.data), "output": str(paths.lora), **p["train"]})
    fmt = fim_format_of(cfg)
    step("train", lambda: train(cfg, progress=progress, log=log))
    step("merge", lambda: merge(paths.lora, paths.merged, log=log))
    # The seed's 4-bit file (q4_0) and q4_k_m beside it: plain q4_0 can ruin a model this small (measured:
    # greedy output degenerated into newlines where f16, q8_0 and q4_k_m wrote the right line).
    gguf, alt = paths.gguf(p["quant"]), paths.gguf(p["also"])
    exported = step("export", lambda: export(paths.merged, gguf, quant=p["quant"], also=((p["also"], alt),), log=log))
    tasks = heldout_holes(cfg.eval_fraction, cfg.seed, p["holes"])
    if not tasks:
        raise FimkitError("no held-out holes to evaluate on; raise eval_fraction")
    # The base as fimkit serves it: in its own FIM format when it has one, prefix-only when it has none.
    base_mode = "auto" if speaks_fim(model) else "prefix-only"
    contenders = [Contender(model, base_mode), Contender(str(gguf), "auto"), Contender(str(alt), "auto")]
    results, _ = step("eval", lambda: run_eval(contenders, tasks, EvalConfig(single_line=True, max_tokens=48),
                                               output=paths.root / "pipeline-eval", progress=progress))
    rows = [r for r in results.rows.values() if r.task_id in {t.id for t in tasks}]
    summary = summarize(rows, samples=1)
    base_em = summary["contenders"][contenders[0].label]["metrics"]["exact_match"]
    tuned = {c: summary["contenders"][c.label]["metrics"]["exact_match"] for c in contenders[1:]}
    best = max(tuned, key=lambda c: tuned[c]["mean"])
    tuned_em = tuned[best]
    comparison = next((x for x in summary["comparisons"] if x["contender"] == best.label), {})
    write_text(paths.modelfile, modelfile_text(f"./{Path(best.model).name}", fmt))
    recommended = "fine-tuned" if comparison.get("verdict") == "better" else "base"
    result = {
        "preset": preset, "timings_s": timings, "examples": report.examples, "heldout_holes": len(tasks),
        "base": {"model": model, "mode": base_mode, "exact_match": base_em},
        "fine_tuned": {"gguf": best.model, "fim_format": fmt.spec, "exact_match": tuned_em,
                       "all": {Path(c.model).name: tuned[c] for c in tuned},
                       "export_seconds": exported.seconds, "greedy_agreement_with_transformers": exported.agreement},
        "comparison": comparison, "recommended": recommended,
        "files": [str(paths.data), str(paths.lora), str(paths.merged), str(gguf), str(alt), str(paths.modelfile)],
    }
    write_json(paths.root / "pipeline-summary.json", result)
    return result
