"""The FIM transform: JSON lines in, the same JSON lines out with FIM-rearranged text.

Compatible with allenai/dolma's ``contrib/fill-in-middle`` (same flags, same I/O: a ``text``
field, other fields and row order kept, documents split on the file separator, ``.jsonl``,
``.gz`` and ``.zst``), plus what it lacks: a seed (byte-identical reruns, whatever the number
of processes: each record's RNG is seeded from the seed, its file and its line), both SPM
variants named, line and syntax-node spans, an EOT after the middle, sanitization of
sentinel strings already in the code, bad lines reported as file:line and skipped (or fatal
with ``strict``), and outputs that appear only when complete.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path

from fimkit.data.jsonl import SUFFIXES, BadRecordError, is_jsonl, read_lines, write_jsonl
from fimkit.data.parallel import run_jobs
from fimkit.data.spans import SPANS, choose_span
from fimkit.errors import FimkitError
from fimkit.formats import FimFamily, FimFormat, get_family, sanitizer_for


@dataclass(frozen=True)
class FimTransformConfig:
    """Settings of the FIM transform.

    fim_rate: probability that a file is rearranged, in [0, 1] (BigCode/StarCoder use 0.5).
    psm_spm_split: probability of PSM for a rearranged file; the rest is SPM (Dolma's meaning).
    spm_variant: "paper" (PRE SUF suffix MID prefix middle) or "dolma" (SUF suffix PRE prefix MID middle).
    span: "char" (uniform over characters), "line" (whole lines) or "ast" (whole syntax nodes).
    eot: append the family's end-of-text token after the middle, so the model learns to stop.
    seed: reruns with the same seed and inputs are byte-identical.
    family: the registry family whose sentinels are written; the four *_token fields override
        single spellings (Dolma's flags), e.g. for a tokenizer with its own sentinel strings.
    min_chars: files shorter than this are left as they are (Dolma: 5).
    text_field: the JSON field that holds the text.
    language_field: the JSON field naming the language, for ast spans (default python).
    """

    fim_rate: float = 0.5
    psm_spm_split: float = 0.5
    spm_variant: str = "paper"
    span: str = "char"
    eot: bool = False
    seed: int = 0
    family: str = "fimkit"
    fim_prefix_token: str | None = None
    fim_middle_token: str | None = None
    fim_suffix_token: str | None = None
    file_separator_token: str | None = None
    min_chars: int = 5
    text_field: str = "text"
    language_field: str = "language"

    def __post_init__(self):
        if not 0.0 <= self.fim_rate <= 1.0:
            raise FimkitError(
                f"--fim-rate must be a probability in [0, 1], got {self.fim_rate}; Dolma treats values above 1 "
                "(its examples use 5.0) as 'always', which here is --fim-rate 1.0"
            )
        if not 0.0 <= self.psm_spm_split <= 1.0:
            raise FimkitError(f"--psm-spm-split is the probability of PSM and must be in [0, 1], got {self.psm_spm_split}")
        if self.spm_variant not in ("paper", "dolma"):
            raise FimkitError(f"--spm-variant must be 'paper' or 'dolma', got {self.spm_variant!r}")
        if self.span not in SPANS:
            raise FimkitError(f"--span must be one of {', '.join(SPANS)}, got {self.span!r}")

    def resolved_family(self) -> FimFamily:
        base = get_family(self.family)
        overrides = {
            k: v for k, v in (
                ("prefix", self.fim_prefix_token), ("middle", self.fim_middle_token),
                ("suffix", self.fim_suffix_token), ("file_sep", self.file_separator_token),
            ) if v
        }
        if not overrides:
            return base
        for role, value in overrides.items():
            if len(value) < 2:
                raise FimkitError(f"the {role} token must be at least 2 characters, got {value!r}")
        # Decorations belong to the base spellings; custom spellings are written bare.
        return replace(base, name=f"{base.name}+custom", prefix_text=None, suffix_text=None, middle_text=None, **overrides)


@dataclass
class TransformStats:
    records: int = 0
    files_seen: int = 0  # files inside documents (split on the separator)
    files_transformed: int = 0
    psm: int = 0
    spm: int = 0
    bad_lines: list[tuple[str, int, str]] = field(default_factory=list)

    def merge(self, other: TransformStats) -> None:
        for k in ("records", "files_seen", "files_transformed", "psm", "spm"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.bad_lines.extend(other.bad_lines)


class FimTransformer:
    """Applies the transform to one text at a time; pure given (config, rng)."""

    def __init__(self, config: FimTransformConfig):
        self.config = config
        self.family = config.resolved_family()
        self.sanitizer = sanitizer_for(self.family)
        spm = "spm-paper" if config.spm_variant == "paper" else "spm-dolma"
        self.psm = FimFormat(self.family, "psm")
        self.spm = FimFormat(self.family, spm)

    def transform_text(self, text: str, rng: random.Random, language: str | None = None,
                       stats: TransformStats | None = None) -> str:
        # One scan of the whole document decides whether any part can hold a sentinel or a mark;
        # the file separator is a sentinel too, so a clean document is a single file.
        dirty = self.sanitizer.needs_escape(text)
        sep = self.family.file_sep
        parts = text.split(sep) if sep and dirty else [text]
        out = [self._transform_file(part, rng, language, stats, dirty) for part in parts]
        return sep.join(out) if sep else out[0]

    def _transform_file(self, text: str, rng: random.Random, language: str | None, stats, dirty: bool) -> str:
        cfg = self.config
        if stats is not None:
            stats.files_seen += 1
        # Draw in a fixed order whatever the outcome, so one file's choices never shift another's.
        do_fim = rng.random() < cfg.fim_rate
        use_psm = rng.random() < cfg.psm_spm_split
        if not do_fim or len(text) < cfg.min_chars:
            return self.sanitizer.escape(text) if dirty else text
        start, end = choose_span(cfg.span, text, rng, language)
        prefix, middle, suffix = text[:start], text[start:end], text[end:]
        if stats is not None:
            stats.files_transformed += 1
            if use_psm:
                stats.psm += 1
            else:
                stats.spm += 1
        fmt = self.psm if use_psm else self.spm
        return fmt.render(prefix, suffix, middle, eot=cfg.eot, sanitize=dirty)


def file_rng(seed: int, source: str) -> random.Random:
    """One RNG per input file, seeded by the seed and the file's path under the inputs: a file is
    always transformed whole by one process, so the output does not depend on the process count."""
    return random.Random(f"{seed}\x00{source}")


def transform_file(src: str | Path, dst: str | Path, config: FimTransformConfig, *, source_key: str,
                   strict: bool = False) -> TransformStats:
    """Transform one JSON lines file into ``dst`` (written atomically); bad lines are reported and skipped."""
    transformer = FimTransformer(config)
    stats = TransformStats()
    tf, lf = config.text_field, config.language_field
    rng = file_rng(config.seed, source_key)
    with write_jsonl(dst) as write:
        for line in read_lines(src):
            record, error = line.record, line.error
            if record is not None and not isinstance(record.get(tf), str):
                error = f"field '{tf}' is missing or not a string"
            if error:
                if strict:
                    raise BadRecordError(src, line.number, error + " (run without --strict to skip bad lines)")
                stats.bad_lines.append((str(src), line.number, error))
                continue
            language = record.get(lf) if isinstance(record.get(lf), str) else None
            record[tf] = transformer.transform_text(record[tf], rng, language, stats)
            stats.records += 1
            write(record)
    return stats


def discover_inputs(inputs: list[str]) -> list[tuple[Path, str]]:
    """Files named by ``inputs`` (files, directories searched recursively, globs) with the path each
    keeps under the output folder. Order is sorted so runs are reproducible."""
    import glob

    found: list[tuple[Path, str]] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            for f in sorted(p for p in path.rglob("*") if p.is_file() and is_jsonl(p)):
                found.append((f, str(f.relative_to(path))))
        elif path.is_file():
            found.append((path, path.name))
        else:
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise FimkitError(f"--inputs {item}: no such file, directory or matching glob")
            found.extend((Path(m), Path(m).name) for m in matches if Path(m).is_file())
    keys = [k for _, k in found]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise FimkitError(f"several inputs would write the same output file(s) {dupes[:3]}; pass their parent directory instead")
    if not found:
        raise FimkitError(f"no JSON lines files ({', '.join(SUFFIXES)}) found in {' '.join(inputs)}")
    return found


def _run_one(job):
    src, dst, config, key, strict = job
    return transform_file(src, dst, config, source_key=key, strict=strict)


def run_fim(inputs: list[str], output: str | Path, config: FimTransformConfig, *, processes: int = 1,
            strict: bool = False, progress: bool = False) -> TransformStats:
    """Transform every input file into ``output`` (same relative layout), files spread over processes."""
    from tqdm import tqdm

    files = discover_inputs(inputs)
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise FimkitError(f"--output {output} is a file; give a folder for the transformed files")
    jobs = [(src, output / key, config, key, strict) for src, key in files]
    for src, dst, *_ in jobs:
        if dst.resolve() == src.resolve():
            raise FimkitError(f"--output {output} would overwrite the input {src}: write to another folder "
                              "(inputs are never rewritten in place)")
    total = TransformStats()
    sizes = {str(src): src.stat().st_size for src, _ in files}
    with tqdm(total=sum(sizes.values()), unit="B", unit_scale=True, desc="fim", disable=not progress) as bar:
        for index, stats in run_jobs(_run_one, jobs, processes):
            total.merge(stats)
            bar.update(sizes[str(jobs[index][0])])
            bar.set_postfix(records=total.records, bad=len(total.bad_lines))
    total.bad_lines.sort()
    return total
