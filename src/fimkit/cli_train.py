"""The model-making verbs of the CLI: train, merge, export, pipeline."""

from __future__ import annotations

import json
import sys

# Light: dataclasses and PyYAML only, so `fimkit train --help` stays instant.
from fimkit.errors import FimkitError
from fimkit.settings import add_flags, overrides_from_args
from fimkit.train.config import TrainConfig, load_config


def register(sub, formatter, dedent) -> None:
    p = sub.add_parser(
        "train", formatter_class=formatter, help="fine-tune a causal LM for FIM with LoRA (resumable)",
        description=dedent("""
            LoRA fine-tuning for fill-in-the-middle on any causal LM transformers loads: a Hugging Face
            directory or a GGUF (the embedded models are dequantized from their GGUF once and kept). The
            default base is the embedded Qwen2.5-Coder 0.5B, trained in its own FIM format; FIM tokens are
            reused when the base has them, otherwise added, starting at the mean embedding, and only their
            rows are trained besides the LoRA matrices. Data: JSON lines from `fimkit samples` or `fimkit
            fim`, or a `fimkit tokenize` folder. The loss is taken on the middle only by default, and
            logits are computed only where the loss is (a 150k-260k-row output layer dominates CPU time).
            Held-out files give an eval loss and single-line exact match as training goes. Checkpoints
            every --save-every steps: run the same command again to resume after a kill.
            Multi-GPU/CPU processes: `accelerate launch -m fimkit train ...` (DDP).
        """),
        epilog=dedent("""
            examples:
              fimkit train --data data/fim_training.jsonl --output fim-model-lora
              fimkit train --model ./my-hf-model --data data/tokens --loss all --max-minutes 30
              fimkit train -c configs/train.yaml --lora-rank 8 --max-steps 200

            Every setting above is also a key of the -c YAML file (--seq-len is seq_len, --lora-rank is
            lora.rank, --lr is optim.lr); flags given override the file. A run folder keeps its settings
            in hyperparameters.yaml: resuming with other settings (budgets, --eval-every and
            --save-every aside) is refused unless --allow-config-change.
        """),
    )
    p.add_argument("-c", "--config", help="YAML file with the settings (flags override it; see configs/train.yaml)")
    p.add_argument("--allow-config-change", action="store_true",
                   help="resume a run even though its settings changed (the changes are logged)")
    add_flags(p, TrainConfig)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "merge", formatter_class=formatter, help="merge a LoRA run into full weights, checking logits parity",
        description=dedent("""
            Fold the adapter of a `fimkit train` run into its base model and save a plain Hugging Face model
            (safetensors, config, tokenizer with the FIM tokens, fimkit.json). Before saving, the merged
            model's logits are compared with the adapter's on a FIM prompt; a difference over 1e-3 stops it.
        """),
        epilog="example:\n  fimkit merge fim-model-lora --output fim-model-merged",
    )
    p.add_argument("run", help="the run folder written by fimkit train")
    p.add_argument("--output", required=True)
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser(
        "export", formatter_class=formatter, help="write a merged model as GGUF (quantized) with an Ollama Modelfile, or any model as a HF folder",
        description=dedent("""
            Write a merged model as a GGUF llama.cpp loads (llama-family and Gemma-3 models), with the FIM
            tokens in the vocabulary and tokenizer.ggml.fim_* keys always set and read back, quantized by
            llama.cpp's own quantizer. Then verify: llama.cpp loads it, the sentinels are single control
            tokens, and greedy tokens agree with the transformers model (f16: all of them; 4-bit: reported).
        """),
        epilog=dedent("""
            examples:
              fimkit export fim-model-merged --quant q4_0 --output fim-model-q4_0.gguf --modelfile Modelfile.fim
              ollama create fim-model -f Modelfile.fim
              fimkit export fim-model-lora --lora-only --output fim-lora.gguf   (llama.cpp --lora; and
                  fim-lora.peft/, the PEFT folder vLLM loads)
              fimkit export qwen2.5-coder-0.5b --format hf --output qwen-hf   (for fimkit serve --backend vllm)
        """),
    )
    p.add_argument("merged", help="the folder written by fimkit merge (with --lora-only: the fimkit train run; "
                   "with --format hf: any model fimkit serves, an embedded name or a GGUF included)")
    p.add_argument("--output", required=True, help="the .gguf file to write (--format hf: the folder)")
    p.add_argument("--format", choices=("gguf", "hf"), default="gguf",
                   help="gguf (llama.cpp, Ollama; default) or hf: a Hugging Face folder (safetensors, tokenizer, FIM "
                        "format) for vLLM and transformers; a GGUF is dequantized to fp32")
    p.add_argument("--quant", default="q4_0", help="f16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k (default: q4_0)")
    p.add_argument("--modelfile", help="also write an Ollama Modelfile here")
    p.add_argument("--no-verify", action="store_true", help="skip the llama.cpp vs transformers check")
    p.add_argument("--lora-only", action="store_true",
                   help="write only the LoRA adapter as a llama.cpp GGUF adapter (runs that added no tokens)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "pipeline", formatter_class=formatter, help="samples -> LoRA -> merge -> GGUF -> Modelfile -> before/after eval",
        description=dedent("""
            The whole seed pipeline in one command, in the current folder: data/fim_training.jsonl,
            fim-model-lora/, fim-model-merged/, fim-model-q4_k_m.gguf and fim-model-q4_0.gguf (llama.cpp's
            converter and quantizer), Modelfile.fim with the model's FIM template, then a quick evaluation
            on single-line holes from seed files held out of training: the base model as fimkit serves it
            (the default Qwen2.5-Coder in its own FIM format) against the fine-tuned model. The summary
            recommends the better one; a short CPU run often does not beat the base, and the summary says
            so. --preset quick finishes in about 20 minutes on 2 cores; --preset full uses the seed's defaults.
        """),
        epilog="examples:\n  fimkit pipeline --preset quick\n  fimkit pipeline --preset full --model ./my-hf-model",
    )
    p.add_argument("--preset", default="quick", choices=("quick", "full"))
    p.add_argument("--model", default="qwen2.5-coder-0.5b", help="the base model (default: the embedded FIM model)")
    p.add_argument("--dir", default=".", help="where to write the files (default: here)")
    p.set_defaults(func=cmd_pipeline)

    p = sub.add_parser(
        "adapt", formatter_class=formatter, help="adapt the model to your repositories, judged on held-out code",
        description=dedent("""
            Fine-tune a LoRA on your own repositories and find out, honestly, whether it helps. The split
            is decided before training: with git history, train on the code as of a past commit and judge
            on the lines written since; otherwise whole files are held out. Training fits a time budget
            (--minutes; the learning-rate schedule ends when the budget does). Then the base and the
            adapted model complete the same held-out holes (lines, blocks, conditions, arguments) through
            the completion path the server uses, plus HumanEval single-line to catch forgetting, and a
            paired test decides. DIR becomes a model reference for every verb: it serves the adapted
            model only when it was significantly better, and the base otherwise.
            Run the same command again to resume after an interruption.
        """),
        epilog=dedent("""
            examples:
              fimkit adapt ~/src/myproject --output myproject-adapted
              fimkit serve --model myproject-adapted          (the recommended model)
              fimkit eval --model myproject-adapted --benchmark holes:~/src/myproject
              fimkit adapt ~/src/api ~/src/web --output team --minutes 60 --holes 400
              fimkit adapt ~/src/myproject -o v2 --usage ~/.cache/fimkit/telemetry.sqlite   (learn from accepts)

            Outputs in DIR: report.md (the table), adapt-summary.json, adapter.gguf (megabytes, applied
            on top of the base; `fimkit serve --lora DIR/adapter.gguf` forces it on), split.json,
            data/train.jsonl, run/ (the training run), eval/ and eval-general/ (every completion).
        """),
    )
    p.add_argument("repos", nargs="+", metavar="REPO", help="folders of your repositories (git checkouts or plain folders)")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="the run folder (resumed when it exists)")
    from fimkit.adapt.config import AdaptConfig

    add_flags(p, AdaptConfig)
    p.set_defaults(func=cmd_adapt)


def _log(msg: str) -> None:
    print(f"fimkit: {msg}", file=sys.stderr)


def cmd_train(args) -> int:
    from fimkit.train.trainer import train

    cfg = load_config(args.config, overrides_from_args(args, TrainConfig))
    train(cfg, progress=sys.stderr.isatty(), log=_log, allow_config_change=args.allow_config_change)
    return 0


def cmd_merge(args) -> int:
    from fimkit.train.merge import merge

    merge(args.run, args.output, log=_log)
    return 0


def cmd_export(args) -> int:
    if args.format == "hf":
        if args.lora_only:
            raise FimkitError("--lora-only writes a GGUF adapter (and its PEFT folder beside it); leave out --format hf")
        from fimkit.export.hf import export_hf

        export_hf(args.merged, args.output, log=_log)
        return 0
    if args.lora_only:
        from fimkit.export.lora import export_lora

        export_lora(args.merged, args.output, log=_log)
        return 0
    from fimkit.export.exporter import export

    report = export(args.merged, args.output, quant=args.quant, modelfile=args.modelfile, verify=not args.no_verify, log=_log)
    print(json.dumps(report.__dict__, indent=2))
    return 0


def cmd_pipeline(args) -> int:
    from fimkit.pipeline import run_pipeline

    r = run_pipeline(args.preset, root=args.dir, model=args.model, progress=sys.stderr.isatty(), log=_log)
    b = r["base"]["exact_match"]
    print(f"\npreset {r['preset']}: {r['examples']} examples; held-out single-line holes: {r['heldout_holes']}")
    print("| model | mode | exact match (95% CI) |\n|---|---|---|")
    print(f"| {r['base']['model']} (base) | {r['base']['mode']} | {100 * b['mean']:.1f}% ({100 * b['ci_low']:.1f}-{100 * b['ci_high']:.1f}) |")
    for name, em in r["fine_tuned"]["all"].items():
        print(f"| {name} (fine-tuned) | {r['fine_tuned']['fim_format']} | {100 * em['mean']:.1f}% "
              f"({100 * em['ci_low']:.1f}-{100 * em['ci_high']:.1f}) |")
    c = r["comparison"]
    if c:
        print(f"best fine-tuned ({c['contender']}) vs base: {100 * c['difference']:+.1f} points (95% CI {100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f}): {c['verdict']}")
    if r["recommended"] == "base":
        print(f"RECOMMENDED: the base model (fimkit serve --model {r['base']['model']}); the fine-tuned model did "
              "not beat it here. Train longer (--preset full, a GPU) before switching.")
    else:
        print(f"RECOMMENDED: the fine-tuned model (fimkit serve --model {r['fine_tuned']['gguf']}).")
    print("timings (s): " + ", ".join(f"{k} {v}" for k, v in r["timings_s"].items()))
    return 0


def cmd_adapt(args) -> int:
    from fimkit.adapt.config import AdaptConfig
    from fimkit.adapt.report import report_markdown
    from fimkit.adapt.run import run_adapt
    from fimkit.settings import load_settings

    config = load_settings(AdaptConfig, None, overrides_from_args(args, AdaptConfig))
    summary = run_adapt(args.repos, args.output, config, progress=sys.stderr.isatty(), log=_log)
    print(report_markdown(summary))
    print(f"fimkit serve --model {args.output}   serves the {summary['recommended']} model")
    return 0
