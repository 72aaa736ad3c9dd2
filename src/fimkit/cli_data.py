"""The data verbs of the CLI: corpus, samples, fim, tokenize. Thin: parse flags, call the library, print."""

from __future__ import annotations

import argparse
import sys

from fimkit.errors import FimkitError
from fimkit.settings import flag_type


def _shares(text: str) -> dict[str, float]:
    out = {}
    for item in text.split(","):
        lang, _, value = item.partition("=")
        try:
            out[lang.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected LANG=SHARE[,LANG=SHARE...], got {text!r}") from None
    return out


def register(sub, formatter, dedent) -> None:
    p = sub.add_parser(
        "corpus", formatter_class=formatter, help="build a training corpus from your repositories and code on disk",
        description=dedent("""
            Walk directories, files and git repositories (respecting .gitignore), keep source files by
            language (languages.toml: Python, JavaScript, TypeScript, SQL and more), and drop binaries,
            minified or generated files, files over a size limit, exact duplicates and near duplicates
            (MinHash). Writes JSON lines {id, text, language, path, repo}; .jsonl.zst or .jsonl.gz
            compress. With no repository of your own, point it at code already on the machine.
        """),
        epilog=dedent("""
            examples:
              fimkit corpus ~/src/myrepo --output data/corpus.jsonl.zst
              fimkit corpus ~/src/api ~/src/web --languages python,typescript --output data/corpus.jsonl
              fimkit corpus /usr/lib/python3.11 --shares python=1 --max-total-mb 50 --output data/stdlib.jsonl.zst
        """),
    )
    p.add_argument("inputs", nargs="+", help="directories, git repositories or files")
    p.add_argument("--output", "-o", required=True, help="JSON lines file to write (.jsonl, .jsonl.gz, .jsonl.zst)")
    p.add_argument("--languages", default="python,javascript,typescript,sql", help="comma-separated (default: %(default)s)")
    p.add_argument("--shares", type=_shares, help="balance the mix by bytes, e.g. python=0.6,javascript=0.3,sql=0.1")
    p.add_argument("--max-file-kb", type=flag_type(int, min=1, max=10_000_000), default=1000, help="drop files larger than this (default: %(default)s)")
    p.add_argument("--max-total-mb", type=flag_type(float, min=1e-6, max=1e9), help="stop after this much text")
    p.add_argument("--near-dup", type=flag_type(float, min=0.0, max=1.0), default=0.85, help="near-duplicate Jaccard threshold (default: %(default)s)")
    p.add_argument("--seed", type=flag_type(int, min=0, max=2**32 - 1), default=0)
    p.set_defaults(func=cmd_corpus)

    p = sub.add_parser(
        "samples", formatter_class=formatter, help="write FIM training examples from fimkit's curated seed samples",
        description=dedent("""
            Write FIM training examples cut from fimkit's curated seed code (Python ~60%: algorithms,
            data structures, NumPy/PyTorch, web/API clients; JavaScript ~30%: async/await, React, Node
            utilities, debounce/retry/cache; SQL ~10%: joins, aggregations, window functions). Each
            line holds prefix, middle, suffix and a ready-to-train 'text' in the chosen FIM format
            with EOT after the middle. Prints how many distinct samples, holes and lines it used.
        """),
        epilog=dedent("""
            examples:
              fimkit samples --output data/fim_training.jsonl --count 2000
              fimkit samples --output data/spm.jsonl --fim-format fimkit:spm-paper --span ast
              fimkit samples --list
        """),
    )
    p.add_argument("--output", "-o", help="JSON lines file to write")
    p.add_argument("--count", type=flag_type(int, min=1, max=100_000_000), default=2000, help="number of examples (default: %(default)s)")
    p.add_argument("--seed", type=flag_type(int, min=0, max=2**32 - 1), default=0)
    p.add_argument("--span", choices=("line", "char", "ast"), default="line", help="hole shape (default: %(default)s)")
    p.add_argument("--fim-format", default="fimkit:psm", help="FAMILY:LAYOUT of the text field (default: %(default)s)")
    p.add_argument("--shares", type=_shares, help="language mix (default: python=0.6,javascript=0.3,sql=0.1)")
    p.add_argument("--list", action="store_true", help="list the seed samples instead")
    p.set_defaults(func=cmd_samples)

    p = sub.add_parser(
        "fim", formatter_class=formatter, help="apply the FIM transform to JSON lines (Dolma-compatible flags)",
        description=dedent("""
            Rearrange documents into fill-in-the-middle training strings. Reads JSON lines with a
            'text' field (.jsonl, .jsonl.gz, .jsonl.zst; files, directories or globs), keeps every
            other field, the row order and the file layout, splits multi-file documents on the file
            separator, and writes the same files under --output. Same flags as allenai/dolma's
            fill-in-middle tool, plus --seed (byte-identical reruns), --spm-variant, --span, --eot and
            --strict. Sentinel strings already in the code are escaped so they never become control
            tokens. Bad lines are reported as file:line and skipped unless --strict.
        """),
        epilog=dedent("""
            examples:
              fimkit fim --inputs data/corpus.jsonl.zst --output data/fim --fim-rate 0.5 --seed 1
              fimkit fim --inputs 'data/*.jsonl.gz' --output data/fim --span ast --eot --processes 2
              fimkit fim --inputs data --output out --fim-prefix-token '<fim_prefix>' --fim-middle-token '<fim_middle>' \\
                  --fim-suffix-token '<fim_suffix>' --file-separator-token '<file_sep>'
        """),
    )
    p.add_argument("--inputs", nargs="+", required=True, help="files, directories or globs of JSON lines")
    p.add_argument("--output", required=True, help="output directory (mirrors the inputs' names)")
    p.add_argument("--fim-rate", type=flag_type(float, min=0.0, max=1.0), default=0.5, help="probability a file is rearranged, in [0,1] (default: 0.5)")
    p.add_argument("--psm-spm-split", type=flag_type(float, min=0.0, max=1.0), default=0.5, help="probability of PSM, else SPM (default: 0.5)")
    p.add_argument("--spm-variant", choices=("paper", "dolma"), default="paper",
                   help="paper: PRE SUF suffix MID prefix middle; dolma: SUF suffix PRE prefix MID middle")
    p.add_argument("--span", choices=("char", "line", "ast"), default="char", help="hole shape (default: char)")
    p.add_argument("--eot", action="store_true", help="append the family's EOT token after the middle")
    p.add_argument("--seed", type=flag_type(int, min=0, max=2**32 - 1), default=0, help="same seed, same output, whatever --processes")
    p.add_argument("--fim-family", default="fimkit", help="sentinel spellings from this registry family (default: fimkit)")
    p.add_argument("--fim-prefix-token")
    p.add_argument("--fim-middle-token")
    p.add_argument("--fim-suffix-token")
    p.add_argument("--file-separator-token")
    p.add_argument("--text-field", default="text")
    p.add_argument("--processes", type=flag_type(int, min=1, max=1024), default=1, help="worker processes, one file at a time each")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed line instead of skipping it")
    p.set_defaults(func=cmd_fim)

    p = sub.add_parser(
        "tokenize", formatter_class=formatter, help="tokenize JSON lines into Dolma-compatible memmaps",
        description=dedent("""
            Tokenize documents into Dolma-compatible output: part-*.npy (raw memmaps) and part-*.csv.gz
            (rows start,end,id,src,loc), plus tokens.json describing them. Reads Dolma's 'tokens' YAML
            config. Text is never stripped; the dtype follows the vocabulary size; only the FIM
            transform's own sentinels become control tokens, and FIM tokens are added to tokenizers that
            lack them, exactly as training does. The tokenizer is a local HF directory, a GGUF or the
            embedded model's name.
        """),
        epilog=dedent("""
            example config (tokens.yaml):
              documents: [data/fim/*.jsonl.zst]
              destination: data/tokens
              processes: 2
              tokenizer:
                name_or_path: qwen2.5-coder-0.5b
                eos_token_id: 151643
            examples:
              fimkit tokenize -c tokens.yaml
              fimkit tokenize --documents data/fim --destination data/tokens --tokenizer ./my-hf-model
        """),
    )
    p.add_argument("-c", "--config", help="Dolma-style YAML config")
    p.add_argument("--documents", nargs="+", help="JSON lines files, directories or globs (overrides the config)")
    p.add_argument("--destination", help="output directory (overrides the config)")
    p.add_argument("--tokenizer", help="tokenizer: HF directory, GGUF or embedded model name")
    p.add_argument("--processes", type=flag_type(int, min=1, max=1024))
    p.add_argument("--dtype", choices=("uint16", "uint32", "uint64"))
    p.add_argument("--max-size", type=flag_type(int, min=1, max=1 << 40), help="tokens per part file")
    p.add_argument("--fim-family", help="family whose sentinels are control tokens (default: fimkit)")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed line")
    p.set_defaults(func=cmd_tokenize)


def _progress() -> bool:
    return sys.stderr.isatty()


def _report_bad(bad: list[tuple[str, int, str]]) -> None:
    for path, line, reason in bad[:20]:
        print(f"skipped {path}:{line}: {reason}", file=sys.stderr)
    if len(bad) > 20:
        print(f"... and {len(bad) - 20} more malformed lines", file=sys.stderr)


def cmd_corpus(args) -> int:
    from fimkit.data.corpus import CorpusConfig, build_corpus

    config = CorpusConfig(
        languages=tuple(x.strip() for x in args.languages.split(",") if x.strip()),
        max_file_bytes=args.max_file_kb * 1000, near_dup_threshold=args.near_dup, shares=args.shares,
        max_total_bytes=int(args.max_total_mb * 1e6) if args.max_total_mb else None, seed=args.seed,
    )
    stats = build_corpus(args.inputs, args.output, config, progress=_progress())
    langs = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_language.items()))
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items())) or "none"
    print(f"wrote {args.output}: {stats.kept} files, {stats.kept_bytes / 1e6:.1f} MB ({langs})")
    print(f"looked at {stats.seen} source files; dropped: {dropped}")
    return 0


def cmd_samples(args) -> int:
    from fimkit.data.jsonl import write_jsonl
    from fimkit.data.seed import DEFAULT_SHARES, SamplesConfig, SamplesReport, load_seed_samples, make_examples

    if args.list:
        for s in load_seed_samples():
            print(f"{s.name}  ({s.text.count(chr(10))} lines)")
        return 0
    if not args.output:
        raise FimkitError("--output is required (e.g. --output data/fim_training.jsonl), or pass --list")
    if args.count < 1:
        raise FimkitError("--count must be at least 1")
    config = SamplesConfig(count=args.count, seed=args.seed, span=args.span, fim_format=args.fim_format,
                           shares=args.shares or dict(DEFAULT_SHARES))
    report = SamplesReport()
    with write_jsonl(args.output) as write:
        for example in make_examples(config, report):
            write(example)
    langs = ", ".join(f"{k} {v}" for k, v in report.by_language.items())
    print(f"wrote {args.output}: {report.examples} examples ({langs}), {report.distinct_examples} distinct holes")
    print(f"from {report.samples_used} distinct samples holding {report.total_lines} lines "
          f"({report.distinct_lines} distinct non-blank lines); format {config.fim_format}, span {config.span}")
    return 0


def cmd_fim(args) -> int:
    from fimkit.data.fim import FimTransformConfig, run_fim

    config = FimTransformConfig(
        fim_rate=args.fim_rate, psm_spm_split=args.psm_spm_split, spm_variant=args.spm_variant, span=args.span,
        eot=args.eot, seed=args.seed, family=args.fim_family, fim_prefix_token=args.fim_prefix_token,
        fim_middle_token=args.fim_middle_token, fim_suffix_token=args.fim_suffix_token,
        file_separator_token=args.file_separator_token, text_field=args.text_field,
    )
    stats = run_fim(args.inputs, args.output, config, processes=args.processes, strict=args.strict, progress=_progress())
    _report_bad(stats.bad_lines)
    print(f"wrote {args.output}: {stats.records} records, {stats.files_transformed} of {stats.files_seen} files "
          f"rearranged (PSM {stats.psm}, SPM {stats.spm}), {len(stats.bad_lines)} malformed lines skipped")
    return 0


def cmd_tokenize(args) -> int:
    from dataclasses import replace

    from fimkit.data.tokenize import TokenizeConfig, run_tokenize
    from fimkit.settings import read_yaml_mapping

    data: dict = read_yaml_mapping(args.config) if args.config else {}
    if args.documents:
        data["documents"] = args.documents
    if args.destination:
        data["destination"] = args.destination
    config = TokenizeConfig.from_mapping(data, args.config or "command line")
    overrides = {k: v for k, v in (("processes", args.processes), ("dtype", args.dtype), ("max_size", args.max_size),
                                    ("fim_family", args.fim_family)) if v is not None}
    if args.strict:
        overrides["strict"] = True
    if args.tokenizer:
        overrides["tokenizer"] = replace(config.tokenizer, name_or_path=args.tokenizer)
    config = replace(config, **overrides) if overrides else config
    stats = run_tokenize(config, progress=_progress())
    _report_bad(stats.bad_lines)
    print(f"wrote {config.destination}: {stats.documents} documents, {stats.tokens} tokens in {stats.parts} part(s); "
          f"{len(stats.bad_lines)} malformed lines skipped")
    return 0

