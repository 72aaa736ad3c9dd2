"""The seed samples: curated code written for fimkit, cut into FIM training examples.

``data/seed/{python,javascript,sql}`` holds complete, valid source files (algorithms, data
structures, NumPy/PyTorch, web and API clients; async, React, Node utilities and
debounce/retry/cache patterns; joins, aggregations and window functions). ``make_examples``
cuts holes at random positions (whole lines by default, the seed's split), balanced by
language share, spreading examples evenly over the samples and never repeating a hole.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources

from fimkit.data.spans import choose_span
from fimkit.errors import FimkitError
from fimkit.formats import FimFormat

DEFAULT_SHARES = {"python": 0.6, "javascript": 0.3, "sql": 0.1}


@dataclass(frozen=True)
class SeedSample:
    name: str  # e.g. "python/algo_dijkstra.py"
    language: str
    text: str


def load_seed_samples() -> list[SeedSample]:
    root = resources.files("fimkit.data").joinpath("seed")
    samples = []
    for lang_dir in sorted(root.iterdir(), key=lambda p: p.name):
        if not lang_dir.is_dir() or lang_dir.name.startswith(("_", ".")):
            continue
        for f in sorted(lang_dir.iterdir(), key=lambda p: p.name):
            if f.is_file() and not f.name.startswith("."):
                samples.append(SeedSample(f"{lang_dir.name}/{f.name}", lang_dir.name, f.read_text(encoding="utf-8")))
    return samples


@dataclass(frozen=True)
class SamplesConfig:
    """Settings of ``fimkit samples``.

    count: number of FIM examples to write.
    seed: the same seed writes the same file, byte for byte.
    span: "line" (whole lines, the seed's split), "char" or "ast".
    fim_format: FAMILY:LAYOUT for the ready-to-train ``text`` field (with EOT after the middle).
    shares: language mix of the examples.
    """

    count: int = 2000
    seed: int = 0
    span: str = "line"
    fim_format: str = "fimkit:psm"
    shares: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SHARES))


@dataclass
class SamplesReport:
    examples: int = 0
    distinct_examples: int = 0
    samples_used: int = 0
    distinct_lines: int = 0
    total_lines: int = 0
    by_language: dict[str, int] = field(default_factory=dict)


def _quotas(count: int, shares: dict[str, float], available: set[str]) -> dict[str, int]:
    missing = [lang for lang, s in shares.items() if s > 0 and lang not in available]
    if missing:
        raise FimkitError(f"no seed samples for {missing}; the seed set has {sorted(available)}")
    total = sum(shares.values())
    raw = {lang: count * s / total for lang, s in shares.items() if s > 0}
    quotas = {lang: int(v) for lang, v in raw.items()}
    # Hand out the remainder by largest fractional part, so the quotas add up to count.
    for lang in sorted(raw, key=lambda k: raw[k] - quotas[k], reverse=True)[: count - sum(quotas.values())]:
        quotas[lang] += 1
    return quotas


def make_examples(config: SamplesConfig = SamplesConfig(), report: SamplesReport | None = None) -> Iterator[dict]:
    """FIM examples ``{id, language, source, prefix, middle, suffix, text}``, deterministic by seed."""
    fmt = FimFormat.parse_spec(config.fim_format)
    samples = load_seed_samples()
    by_lang: dict[str, list[SeedSample]] = {}
    for s in samples:
        by_lang.setdefault(s.language, []).append(s)
    rng = random.Random(config.seed)
    seen: set[tuple[str, int, int]] = set()
    used: set[str] = set()
    for lang, quota in _quotas(config.count, config.shares, set(by_lang)).items():
        pool = by_lang[lang]
        order: list[SeedSample] = []
        for n in range(quota):
            if not order:  # every sample once per round, in a fresh random order
                order = pool[:]
                rng.shuffle(order)
            sample = order.pop()
            for _ in range(20):  # a new hole if this one was already written
                start, end = choose_span(config.span, sample.text, rng, lang)
                if (sample.name, start, end) not in seen:
                    break
            seen.add((sample.name, start, end))
            used.add(sample.name)
            prefix, middle, suffix = sample.text[:start], sample.text[start:end], sample.text[end:]
            if report is not None:
                report.examples += 1
                report.by_language[lang] = report.by_language.get(lang, 0) + 1
            yield {
                "id": f"seed-{lang}-{n:05d}", "language": lang, "source": f"fimkit-seed/{sample.name}",
                "prefix": prefix, "middle": middle, "suffix": suffix,
                "text": fmt.render(prefix, suffix, middle, eot=fmt.is_fim),
            }
    if report is not None:
        report.distinct_examples = len(seen)
        report.samples_used = len(used)
        lines = [ln for s in samples if s.name in used for ln in s.text.splitlines()]
        report.total_lines = len(lines)
        report.distinct_lines = len({ln.strip() for ln in lines if ln.strip()})
