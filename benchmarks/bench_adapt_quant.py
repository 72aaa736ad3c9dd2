"""How much a merged model loses to its quantization: the weights of one finished ``fimkit adapt`` run
(a full fine-tune's run/model, or a FIM run's merged/) exported again at another quantization and
judged on the same held-out holes, paired with the run's own served GGUF and with other rows.

    .venv/bin/python benchmarks/bench_adapt_quant.py bench-adapt-objectives/peft-full --quant q8_0 \\
        --compare r16=bench-adapt-objectives/peft-next-token --compare r64=bench-adapt-objectives/peft-rank64

No training: the export takes seconds and the judging ~15 minutes on 2 cores (the base's rows are
reused from the run's eval/ and eval-general/). Prints exact match and edit similarity with paired
95% intervals, and HumanEval single-line pass@1 against the base.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import yaml
from bench_adapt_objectives import (  # this folder: a script's own folder is on sys.path
    BASE,
    adapted_rows,
    copy_base_rows,
)

from fimkit.adapt.config import AdaptConfig
from fimkit.adapt.report import paired
from fimkit.adapt.run import _Adapt
from fimkit.eval.runner import Contender, EvalConfig, run_eval
from fimkit.export.exporter import export


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="a finished fimkit adapt folder served as a merged model.gguf")
    ap.add_argument("--quant", default="q8_0")
    ap.add_argument("--compare", action="append", default=[], metavar="NAME=FOLDER",
                    help="another adapt folder on the same split, paired on the same holes")
    args = ap.parse_args()
    run = Path(args.run)
    saved = yaml.safe_load((run / "adapt.yaml").read_text())
    repos = saved.pop("repos")
    config = AdaptConfig(**{k: v for k, v in saved.items() if k in {f.name for f in dataclasses.fields(AdaptConfig)}})
    weights = run / "run" / "model" if config.method == "full" else run / "merged"
    out = run.parent / f"{run.name}-{args.quant}"
    gguf = out / f"model-{args.quant}.gguf"
    out.mkdir(exist_ok=True)
    if not gguf.is_file():
        export(weights, gguf, quant=args.quant)

    # The same holes as the run judged: adapt's own split and hole sampling, on its saved settings.
    adapt = _Adapt(run, repos, config, False, print)
    adapt.accepted_train, adapt.accepted_eval = [], []
    adapt.split_ = adapt.split()
    tasks = adapt.holes(adapt.split_)
    contenders = [Contender(config.model, "auto"), Contender(str(gguf), "auto")]
    for folder in ("eval", "eval-general"):  # the base's rows are the run's: computed once
        copy_base_rows(run / folder, out / folder)
    held, _ = run_eval(contenders, tasks, EvalConfig(seed=config.seed), output=out / "eval", log=print)
    general = None
    if config.general_tasks:  # forgetting, as adapt checks it
        from fimkit.eval.tasks import load_tasks

        tasks = load_tasks("humaneval-single", limit=config.general_tasks, seed=config.seed)
        general, _ = run_eval(contenders, tasks, EvalConfig(single_line=True), output=out / "eval-general", log=print)

    name = f"{run.name} {args.quant}"
    rows = [dataclasses.replace(r, contender=name) if r.contender != BASE else r for r in held.rows.values()]
    rows += adapted_rows(run, f"{run.name} as served")
    others = dict(c.split("=", 1) for c in args.compare)
    for other, folder in others.items():
        rows += adapted_rows(Path(folder), other)
    print(f"| against | exact match against -> {name} (paired 95% CI) | edit similarity (paired 95% CI) |")
    print("|---|---|---|")
    for against in [BASE, f"{run.name} as served", *others]:
        cells = []
        for metric in ("exact_match", "edit_similarity"):
            p = paired(rows, against, name, metric)
            scale, fmt = (100, ".1f") if metric == "exact_match" else (1, ".3f")
            cells.append(f"{scale * p['base']:{fmt}} -> {scale * p['adapted']:{fmt}} "
                         f"({scale * p['ci_low']:+{fmt}} to {scale * p['ci_high']:+{fmt}})")
        print(f"| {against} | {cells[0]} | {cells[1]} |")
    if general is not None:
        p = paired(list(general.rows.values()), BASE, contenders[1].label, "pass@1")
        print(f"HumanEval single-line pass@1, base -> {name}: {100 * p['base']:.1f}% -> {100 * p['adapted']:.1f}% "
              f"({100 * p['ci_low']:+.1f} to {100 * p['ci_high']:+.1f})")


if __name__ == "__main__":
    main()
