"""Which FIM family does a model speak? Detection from a vocabulary or GGUF metadata.

Order of evidence, strongest first:
1. fimkit's own record (``fimkit.fim_format`` in a GGUF we wrote, ``fim_format`` in a run folder);
2. GGUF ``tokenizer.ggml.fim_{pre,suf,mid}_token_id`` keys (and the older
   ``tokenizer.ggml.{prefix,suffix,middle}_token_id``), mapped back to their spellings;
3. the vocabulary: the family with the most of its sentinels present as tokens, its
   three structural sentinels required; ties broken by the model's name, then table order.
No evidence means the model has no FIM tokens and is served prefix-only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fimkit.formats.registry import FimFamily, families
from fimkit.formats.render import FimFormat

FIMKIT_GGUF_KEY = "fimkit.fim_format"
GGUF_FIM_KEYS = {
    "prefix": ("tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"),
    "suffix": ("tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"),
    "middle": ("tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"),
    "pad": ("tokenizer.ggml.fim_pad_token_id",),
    "file_sep": ("tokenizer.ggml.fim_sep_token_id",),
    "repo_name": ("tokenizer.ggml.fim_rep_token_id",),
    "eot": ("tokenizer.ggml.eot_token_id",),
}


def gguf_fim_keys(family: FimFamily | None) -> dict[str, str]:
    """The GGUF keys a writer sets for a family (llama.cpp's spelling: the first of each role's
    keys above) -> the sentinel whose token id each one holds."""
    if family is None:
        return {}
    return {keys[0]: getattr(family, role) for role, keys in GGUF_FIM_KEYS.items() if getattr(family, role)}


@dataclass(frozen=True)
class Detection:
    """The outcome of detection: a family (None: no FIM tokens) and the evidence it rests on."""

    family: FimFamily | None
    source: str
    layout: str | None = None  # set when the model records the layout it was trained with

    @property
    def is_fim(self) -> bool:
        return self.family is not None

    def describe(self) -> str:
        if self.family is None:
            return f"prefix-only ({self.source})"
        layout = self.layout or self.family.default_layout
        return f"{self.family.name}:{layout} ({self.source})"


def _score(family: FimFamily, vocab: Mapping[str, int] | set[str]) -> int:
    """How many FIM-specific sentinels the vocabulary holds; -1 without all structural ones.

    End-of-text tokens (``<eos>``, ``</s>``) are left out: every vocabulary has one, so they
    say nothing about the FIM family.
    """
    if not all(s in vocab for s in family.structural()):
        return -1
    fim_specific = (family.prefix, family.suffix, family.middle, family.pad, family.file_sep, family.repo_name)
    return sum(1 for s in fim_specific if s and s in vocab)


def detect_from_vocab(vocab: Iterable[str], *, name_hint: str | None = None) -> Detection:
    """Pick the family whose sentinels the vocabulary holds (see the module docstring)."""
    tokens = vocab if isinstance(vocab, (Mapping, set, frozenset)) else set(vocab)
    hint = (name_hint or "").lower()
    best: tuple[int, int, int] | None = None
    chosen: FimFamily | None = None
    for order, family in enumerate(families().values()):
        score = _score(family, tokens)
        if score < 0:
            continue
        hinted = int(any(h in hint for h in family.name_hints))
        key = (score, hinted, -order)
        if best is None or key > best:
            best, chosen = key, family
    if chosen is None:
        return Detection(None, "no FIM sentinels in the vocabulary")
    return Detection(chosen, f"{best[0]} of its sentinels in the vocabulary")


def detect_from_tokenizer(tokenizer, *, name_hint: str | None = None) -> Detection:
    """A Hugging Face tokenizer (anything with ``get_vocab``), added tokens included."""
    vocab = dict(tokenizer.get_vocab())
    for tok in getattr(tokenizer, "additional_special_tokens", None) or []:
        vocab.setdefault(str(tok), -1)
    hint = name_hint or getattr(tokenizer, "name_or_path", None)
    return detect_from_vocab(vocab, name_hint=hint)


def detect_from_gguf(metadata: Mapping[str, object], tokens: list[str] | None, *, name_hint: str | None = None) -> Detection:
    """Detect from a GGUF header's metadata (``tokens`` is ``tokenizer.ggml.tokens``, when decoded)."""
    hint = name_hint or str(metadata.get("general.name") or "")
    recorded = metadata.get(FIMKIT_GGUF_KEY)
    if isinstance(recorded, str) and recorded:

        fmt = FimFormat.parse_spec(recorded)
        return Detection(fmt.family, f"recorded by fimkit in {FIMKIT_GGUF_KEY}", fmt.layout)

    spelled: dict[str, str] = {}
    if tokens:
        for role, keys in GGUF_FIM_KEYS.items():
            for key in keys:
                tid = metadata.get(key)
                if isinstance(tid, int) and 0 <= tid < len(tokens):
                    spelled[role] = tokens[tid]
                    break
    if all(r in spelled for r in ("prefix", "suffix", "middle")):
        matches = [
            f for f in families().values()
            if (f.prefix, f.suffix, f.middle) == (spelled["prefix"], spelled["suffix"], spelled["middle"])
        ]
        if matches:
            by_vocab = detect_from_vocab(set(tokens or ()), name_hint=hint)
            family = by_vocab.family if by_vocab.family in matches else matches[0]
            return Detection(family, "GGUF tokenizer.ggml.fim_* keys")
        eot = spelled.get("eot") or _token(metadata, tokens, "tokenizer.ggml.eos_token_id") or "</s>"
        custom = FimFamily(
            name="gguf-custom",
            prefix=spelled["prefix"], suffix=spelled["suffix"], middle=spelled["middle"], eot=eot,
            pad=spelled.get("pad"), file_sep=spelled.get("file_sep"), repo_name=spelled.get("repo_name"),
            description="spellings read from the GGUF's tokenizer.ggml.fim_* keys",
        )
        return Detection(custom, "GGUF tokenizer.ggml.fim_* keys (spellings not in the table)")
    if tokens:
        found = detect_from_vocab(set(tokens), name_hint=hint)
        if found.family is not None:
            return Detection(found.family, found.source + " (GGUF has no fim_* keys)")
        return found
    return Detection(None, "GGUF has no fim_* keys and its vocabulary was not read")


def _token(metadata: Mapping[str, object], tokens: list[str] | None, key: str) -> str | None:
    tid = metadata.get(key)
    if tokens and isinstance(tid, int) and 0 <= tid < len(tokens):
        return tokens[tid]
    return None
