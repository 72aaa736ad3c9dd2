"""One way to get a FIM-ready tokenizer, shared by tokenization and training.

``load_tokenizer`` takes a model reference (HF directory, GGUF, embedded name), adds the
FIM family's sentinels as special tokens when the vocabulary lacks them (appended in the
registry's order, so every stage agrees on their ids), and encodes text so that only
sentinels placed by fimkit's renderers become control tokens: the underlying tokenizer runs
with ``encode_special_tokens`` on, which makes any special string inside user code (Gemma's
``<eos>``, an escaped ``<|fim_prefix|>``) plain text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from fimkit.errors import FimkitError, require
from fimkit.fileio import atomic_output
from fimkit.formats import FimFamily, get_family, split_specials
from fimkit.models import resolve_model
from fimkit.models.gguf_meta import read_gguf_header
from fimkit.paths import fimkit_home


@dataclass
class FimTokenizer:
    tokenizer: object  # tokenizers.Tokenizer
    family: FimFamily | None
    source: str
    bos_id: int | None = None
    eos_id: int | None = None
    pad_id: int | None = None
    added: list[str] = field(default_factory=list)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def token_id(self, token: str) -> int:
        tid = self.tokenizer.token_to_id(token)
        if tid is None:
            raise FimkitError(f"token {token!r} is not in the vocabulary of {self.source}")
        return tid

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Encode rendered FIM strings: renderer sentinels -> their ids, everything else -> plain text."""
        plans = [split_specials(t, self.family) for t in texts]
        plain = [piece for plan in plans for piece, special in plan if not special]
        encoded = iter(self.tokenizer.encode_batch(plain, add_special_tokens=False)) if plain else iter(())
        out = []
        for plan in plans:
            ids: list[int] = []
            for piece, special in plan:
                ids.extend([self.token_id(piece)] if special else next(encoded).ids)
            out.append(ids)
        return out

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def decode(self, ids) -> str:
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)


def _cache_dir(identity: str) -> Path:
    return fimkit_home() / "tokenizers" / hashlib.sha256(identity.encode()).hexdigest()[:16]


def _tokenizer_from_gguf(path: Path, identity: str):
    """Convert a GGUF's vocabulary with transformers once (~14 s for Gemma), then reuse tokenizer.json."""
    tokenizers = require("tokenizers", extra="data", purpose="tokenization")
    cached = _cache_dir(identity) / "tokenizer.json"
    if cached.is_file():
        return tokenizers.Tokenizer.from_file(str(cached))
    transformers = require("transformers", extra="train", purpose="reading a tokenizer from a GGUF file")
    hf = transformers.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    backend = hf.backend_tokenizer
    with atomic_output(cached) as tmp:
        backend.save(str(tmp))
    return backend


def _special_ids_from_hf(path: Path, tok) -> tuple[int | None, int | None, int | None]:
    cfg_path = path / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}

    def tid(key):
        value = cfg.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        return tok.token_to_id(value) if isinstance(value, str) else None

    return tid("bos_token"), tid("eos_token"), tid("pad_token")


_LOADED: dict[tuple, FimTokenizer] = {}


def load_tokenizer(model: str, family: FimFamily | str | None = "fimkit", *, add_fim_tokens: bool = True) -> FimTokenizer:
    """A FIM-ready tokenizer for ``model`` (see the module docstring). ``family=None``: plain text only.

    Loaded once per process (and inherited by forked workers): loading Gemma's 262k-token
    vocabulary costs about a second, as much as tokenizing several megabytes.
    """
    if isinstance(family, str):
        family = get_family(family)
    resolved = resolve_model(model)
    target = resolved.path / "tokenizer.json" if resolved.kind == "hf" else resolved.path
    try:
        stamp = target.stat().st_mtime_ns
    except OSError:
        stamp = None
    key = (str(target.resolve()), stamp, family, add_fim_tokens)
    if key not in _LOADED:
        _LOADED[key] = _load(model, resolved, family, add_fim_tokens)
    return _LOADED[key]


def _load(model: str, resolved, family: FimFamily | None, add_fim_tokens: bool) -> FimTokenizer:
    tokenizers = require("tokenizers", extra="data", purpose="tokenization")
    if resolved.kind == "hf":
        tj = resolved.path / "tokenizer.json"
        if not tj.is_file():
            raise FimkitError(
                f"{resolved.path} has no tokenizer.json (a fast tokenizer); save it with "
                "AutoTokenizer.from_pretrained(...).save_pretrained(DIR) in transformers"
            )
        tok = tokenizers.Tokenizer.from_file(str(tj))
        bos, eos, pad = _special_ids_from_hf(resolved.path, tok)
    else:
        st = resolved.path.stat()
        identity = resolved.embedded.sha256 if resolved.embedded else f"{resolved.path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
        tok = _tokenizer_from_gguf(resolved.path, identity)
        header = read_gguf_header(resolved.path, decode_arrays=frozenset())
        bos, eos, pad = (header.get(f"tokenizer.ggml.{k}_token_id") for k in ("bos", "eos", "padding"))
    added: list[str] = []
    if family is not None:
        missing = [s for s in family.sentinels() if tok.token_to_id(s) is None]
        if missing and not add_fim_tokens:
            raise FimkitError(f"{model} lacks the FIM tokens {missing}; let fimkit add them (add_fim_tokens=True)")
        if missing:
            tok.add_special_tokens([tokenizers.AddedToken(s, special=True, normalized=False) for s in missing])
            added = missing
    tok.encode_special_tokens = True
    return FimTokenizer(tok, family, str(resolved.path), bos, eos, pad, added)
