"""The transformers backend: any causal LM transformers loads (HF directory or GGUF), on CPU or GPU.

Slower than llama.cpp on a CPU, but it serves a merged model straight from ``fimkit merge``
without an export, and it is the reference the GGUF export is checked against. It keeps the
KV cache of the previous prompt and reuses its longest common prefix, like llama.cpp.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

from fimkit.data.tokenizer import load_tokenizer
from fimkit.errors import FimkitError, require
from fimkit.formats import FimFormat, split_specials
from fimkit.infer.engines.contract import (
    Engine,
    EngineInfo,
    Generation,
    SamplingParams,
    TokenPiece,
    fit_window,
)
from fimkit.infer.engines.healing import BackOff, Healing, VocabIndex, tokens_to_back_off
from fimkit.models.profile import served_format
from fimkit.models.resolve import ResolvedModel, inspect_model


class TransformersEngine(Engine):
    backend = "transformers"
    can_heal = True

    def __init__(self, model: ResolvedModel, *, n_ctx: int = 2048, fim_format: FimFormat | None = None, device: str | None = None):
        torch = require("torch", extra="train", purpose="the transformers backend")
        transformers = require("transformers", extra="train", purpose="the transformers backend")

        self.model_info = inspect_model(model)
        fmt = fim_format or served_format(self.model_info.detection)
        tok = load_tokenizer(str(model.path), fmt.family if fmt.is_fim else None, add_fim_tokens=False)
        kwargs = {"torch_dtype": torch.float32}
        if model.kind == "gguf":
            kwargs["gguf_file"] = model.path.name
            source = str(model.path.parent)
        else:
            source = str(model.path)
        causal_lm = transformers.AutoModelForCausalLM.from_pretrained(source, **kwargs).eval()
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._setup(causal_lm.to(device), tok, fmt, n_ctx=n_ctx, device=device, name=model.name)

    @classmethod
    def from_loaded(cls, causal_lm, tokenizer, fim_format: FimFormat, *, n_ctx: int = 2048, name: str = "in-training",
                    device: str = "cpu") -> TransformersEngine:
        """An engine over a model already in memory (training evaluates its current weights through the
        same completion path as `fimkit eval`). Create one per evaluation: it caches the KV of its last
        prompt, which new weights make stale."""
        engine = cls.__new__(cls)
        engine.model_info = None
        engine._setup(causal_lm, tokenizer, fim_format, n_ctx=n_ctx, device=device, name=name)
        return engine

    def _setup(self, causal_lm, tok, fmt: FimFormat, *, n_ctx: int, device: str, name: str) -> None:
        self.torch = require("torch", extra="train", purpose="the transformers backend")
        self.model, self.tok, self.fim_format, self.device, self.name = causal_lm, tok, fmt, device, name
        vocab = self.model.get_input_embeddings().weight.shape[0]
        if vocab < self.tok.vocab_size:
            raise FimkitError(f"{name}: tokenizer has {self.tok.vocab_size} tokens but the model only {vocab}")
        limit = getattr(self.model.config, "max_position_embeddings", None) or n_ctx
        self.n_ctx = min(n_ctx, limit)
        self.stop_ids = self.end_ids(self.tok, self.fim_format)
        self._ids: list[int] = []
        self._cache = None
        self._vocab: VocabIndex | None = None

    @staticmethod
    def end_ids(tok, fmt: FimFormat) -> set[int]:
        """The tokens that end a middle: EOS and the format's single-token stops (EOT, file separator...)."""
        ids = {i for i in (tok.eos_id,) if i is not None}
        for s in fmt.stop_strings():
            tid = tok.tokenizer.token_to_id(s)
            if tid is not None:
                ids.add(tid)
        return ids

    def vocab_index(self) -> VocabIndex:
        """Every token's bytes, for healing: byte-fallback tokens (``<0x41>``) and byte-level BPE are read
        exactly; other tokens through the decoder, and a token that decodes to a broken character (a
        piece of one) is left out."""
        if self._vocab is None:
            import json

            tk = self.tok.tokenizer
            special = {i for i, t in tk.get_added_tokens_decoder().items() if t.special}
            decoder = json.loads(tk.to_str()).get("decoder") or {}
            byte_level = decoder.get("type") == "ByteLevel" or any(
                d.get("type") == "ByteLevel" for d in decoder.get("decoders", []) or [])
            inverse = {c: b for b, c in _bytes_to_unicode().items()} if byte_level else {}
            pieces = []
            for i in range(tk.get_vocab_size(with_added_tokens=True)):
                name = tk.id_to_token(i) or ""
                fallback = _BYTE_TOKEN.fullmatch(name)
                if i in special or not name:
                    pieces.append(b"")
                elif fallback:
                    pieces.append(bytes([int(fallback.group(1), 16)]))
                elif byte_level and all(c in inverse for c in name):
                    pieces.append(bytes(inverse[c] for c in name))
                else:
                    text = tk.decode([i], skip_special_tokens=False)
                    pieces.append(b"" if "\ufffd" in text else text.encode("utf-8"))
            self._vocab = VocabIndex(pieces)
        return self._vocab

    def _back_off(self, prompt: str, ids: list[int], back_off: BackOff) -> tuple[list[int], Healing | None]:
        """``ids`` without the tokens healing re-spells, and the healing to do (None: none)."""
        if not back_off:
            return ids, None
        plan = split_specials(prompt, self.fim_format.family if self.fim_format.is_fim else None)
        if not plan or plan[-1][1]:
            return ids, None
        plain = min(len(self.tok.tokenizer.encode(plan[-1][0], add_special_tokens=False).ids), len(ids) - 1)
        index = self.vocab_index()
        k = tokens_to_back_off([index.pieces[t] for t in ids[len(ids) - plain:]], plain, back_off)
        text = b"".join(index.pieces[t] for t in ids[len(ids) - k:]) if k else b""
        if not text or k >= len(ids) or not prompt.encode("utf-8").endswith(text):
            return ids, None
        return ids[:-k], Healing(index, text)

    def count_tokens(self, text: str) -> int:
        return len(self.tok.tokenizer.encode(text, add_special_tokens=False).ids) if text else 0

    def _pick(self, logits, params: SamplingParams, generator):
        torch = self.torch
        if params.temperature <= 0:
            return int(torch.argmax(logits))
        scores = logits / params.temperature
        if params.top_k and params.top_k > 0:
            kth = torch.topk(scores, min(params.top_k, scores.shape[-1])).values[-1]
            scores = torch.where(scores < kth, torch.full_like(scores, float("-inf")), scores)
        probs = torch.softmax(scores, dim=-1)
        if params.top_p < 1.0:
            sorted_p, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_p, dim=-1) - sorted_p < params.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
            probs = probs / probs.sum()
        return int(torch.multinomial(probs, 1, generator=generator))

    def score(self, prompt: str, continuation: str, *, end: bool = False,
              cancel: threading.Event | None = None) -> float | None:
        """One forward pass over prompt and continuation (no cache: this backend serves tests and
        merged models, where ranking is rare)."""
        torch = self.torch
        ids = ([self.tok.bos_id] if self.tok.bos_id is not None else []) + self.tok.encode(prompt)
        cont = self.tok.tokenizer.encode(continuation, add_special_tokens=False).ids if continuation else []
        if end:
            eot = self.tok.tokenizer.token_to_id(self.fim_format.family.eot) if self.fim_format.is_fim else None
            cont = [*cont, eot if eot is not None else self.tok.eos_id]
        cont = [t for t in cont if t is not None][: max(0, self.n_ctx - len(ids))]
        if not cont:
            return 0.0
        if cancel is not None and cancel.is_set():
            return None
        with torch.no_grad():
            logits = self.model(input_ids=torch.tensor([ids + cont[:-1]], device=self.device)).logits[0].float()
        rows = torch.log_softmax(logits[len(ids) - 1:], dim=-1)
        return float(rows[torch.arange(len(cont)), torch.tensor(cont, device=self.device)].sum())

    def info(self) -> EngineInfo:
        mi = self.model_info
        if mi is None:
            return super().info()
        return EngineInfo(self.backend, self.name, self.fim_format, self.n_ctx, mi.size_bytes or 0, mi.architecture,
                          mi.quantization, healing=self.heals)

    def _produce(self, gen: Generation, prompt: str, params: SamplingParams,
                 cancel: threading.Event | None) -> Iterator[TokenPiece]:
        torch = self.torch
        from transformers import DynamicCache

        ids = ([self.tok.bos_id] if self.tok.bos_id is not None else []) + self.tok.encode(prompt)
        ids, healing = self._back_off(prompt, ids, params.healing)
        ids = fit_window(ids, self.n_ctx, params.max_tokens)
        context_id = ids[-1]  # decoded before the middle, so the middle's first token keeps its leading space
        skip = len(healing.backed_off.decode("utf-8", "replace")) if healing is not None else 0
        common = 0
        for a, b in zip(self._ids, ids):
            if a != b:
                break
            common += 1
        common = min(common, len(ids) - 1)  # the last prompt token must be fed to get logits
        cache = None
        if self._cache is not None and common > 0:
            extra = self._cache.get_seq_length() - common
            try:
                if extra > 0:
                    self._cache.crop(-extra)  # transformers 5: a negative count removes that many tokens
                cache = self._cache
            except (ValueError, NotImplementedError):  # a cache type that cannot crop (sliding windows)
                cache = None
        if cache is None:
            cache, common = DynamicCache(), 0
        stats = gen.stats
        stats.prompt_tokens, stats.cached_tokens, stats.healed_chars = len(ids), common, skip
        generator = torch.Generator(device=self.device)
        if params.seed is not None:
            generator.manual_seed(params.seed)
        feed, generated, text, healed = ids[common:], [], "", []
        start = time.perf_counter()
        first = None
        try:
            gen.stop_reason = "limit"  # unless the loop ends otherwise
            if params.max_tokens <= 0:  # a warm-up: the prompt into the cache, no token
                with torch.no_grad():
                    out = self.model(input_ids=torch.tensor([feed], device=self.device), past_key_values=cache,
                                     use_cache=True)
                self._cache, self._ids = out.past_key_values, ids[: out.past_key_values.get_seq_length()]
            while stats.predicted_tokens < params.max_tokens:
                with torch.no_grad():
                    out = self.model(input_ids=torch.tensor([feed], device=self.device), past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                self._cache, self._ids = cache, (ids + generated)[: cache.get_seq_length()]
                logits = out.logits[0, -1].float()
                log_probs = torch.log_softmax(logits, dim=-1)
                healing_step = healing is not None and not healing.done
                if healing_step:
                    allowed = torch.tensor(healing.allowed(), dtype=torch.long, device=logits.device)
                    if not len(allowed):  # nothing spells it: end rather than write past what was typed
                        gen.stop_reason = "eos"
                        break
                    masked = torch.full_like(logits, float("-inf"))
                    masked[allowed] = logits[allowed]
                    tok = self._pick(masked, params, generator)
                    logprob = float(torch.logsumexp(log_probs[allowed], dim=0))
                    healing.take(tok)
                else:
                    forced = params.first_token is not None and len(generated) == len(healed)  # first free token
                    tok = params.first_token if forced else self._pick(logits, params, generator)
                    logprob = float(log_probs[tok])
                best, best_ids = (), ()
                if params.top_logprobs > 0:
                    values, ids_ = torch.topk(log_probs, params.top_logprobs)
                    best = tuple((self.tok.decode([int(i)]), float(v)) for v, i in zip(values, ids_))
                    best_ids = tuple(int(i) for i in ids_)
                if first is None:
                    first = time.perf_counter()
                    stats.prompt_ms = (first - start) * 1000
                if tok in self.stop_ids:
                    gen.stop_reason = "eos"
                    break
                generated.append(tok)
                if healing_step:
                    healed = list(generated)
                stats.predicted_tokens += 1
                full = self.tok.decode([context_id, *generated])[len(self.tok.decode([context_id])) + skip:]
                piece = full[len(text):] if not full.endswith("\ufffd") else ""
                text += piece
                yield TokenPiece(piece, logprob, tok, best, best_ids, healing=healing_step)
                if cancel is not None and cancel.is_set():
                    gen.stop_reason = "cancelled"
                    break
                feed = [tok]
        finally:
            end = time.perf_counter()
            stats.predicted_ms = (end - (first or end)) * 1000
            if first is None:
                stats.prompt_ms = (end - start) * 1000


_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-level BPE alphabet: each byte as the printable character its tokens spell it with."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}
