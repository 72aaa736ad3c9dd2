"""Shared fixtures: tiny tokenizers and models built inside the tests (never downloaded),
and the embedded model for integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fimkit.formats import get_family

# What --model auto serves in the tests (and their fimkit subprocesses): the default model, without
# measuring the machine each time (tests/models/test_auto.py measures, with this unset).
os.environ.setdefault("FIMKIT_AUTO_MODEL", "qwen2.5-coder-0.5b")

# Small, varied code so a byte-level BPE learns real merges in well under a second.
TINY_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "for i in range(10):\n    print(i * i)\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n",
    "const debounce = (fn, ms) => { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; };\n",
    "SELECT name, COUNT(*) FROM users GROUP BY name ORDER BY 2 DESC;\n",
    "if x is None:\n    raise ValueError('x must be set')\n",
] * 20


def build_tiny_tokenizer(family_name: str | None = "fimkit", vocab_size: int = 400):
    """A byte-level BPE trained on TINY_CORPUS, wrapped for transformers, with a family's sentinels
    (none when ``family_name`` is None, like a base model without FIM tokens)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    sentinels = list(get_family(family_name).sentinels()) if family_name else []
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<bos>", "<eos>", *sentinels]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(TINY_CORPUS, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<bos>", eos_token="<eos>",
        additional_special_tokens=sentinels,
    )


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return build_tiny_tokenizer("fimkit")


def build_tiny_model(arch: str, vocab_size: int):
    """A 2-layer random model of the given architecture ('llama' or 'gemma3'), small width."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    common = dict(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        pad_token_id=0, bos_token_id=1, eos_token_id=2,  # <pad> <bos> <eos> of the tiny tokenizer
    )
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**common)).eval()
    if arch == "gemma3":
        return Gemma3ForCausalLM(Gemma3TextConfig(head_dim=16, sliding_window=64, **common)).eval()
    raise ValueError(arch)


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory):
    """A saved HF tokenizer without FIM tokens (tokenizer.json + tokenizer_config.json), like a base model."""
    path = tmp_path_factory.mktemp("tiny-hf")
    build_tiny_tokenizer(None).save_pretrained(path)
    (path / "config.json").write_text('{"model_type": "llama", "vocab_size": 400}')
    return path


@pytest.fixture(scope="session")
def tiny_fim_gguf(tmp_path_factory):
    """A real GGUF written by fimkit from a tiny random Llama with fimkit's FIM tokens: llama.cpp loads it."""
    from fimkit.export.gguf_writer import write_gguf
    from fimkit.formats import FimFormat

    root = tmp_path_factory.mktemp("tiny-gguf")
    tok = build_tiny_tokenizer("fimkit")
    model = build_tiny_model("llama", len(tok))
    model.save_pretrained(root / "hf")
    tok.save_pretrained(root / "hf")
    return write_gguf(root / "hf", root / "tiny-fim.gguf", dtype="f32", fim_format=FimFormat.parse_spec("fimkit:psm"))


@pytest.fixture(scope="session")
def embedded_gguf() -> Path:
    """The default embedded model's GGUF (Qwen2.5-Coder 0.5B, a FIM model), assembled once into
    FIMKIT_HOME (CI sets a private one)."""
    from fimkit.models import DEFAULT_MODEL, resolve_model

    return resolve_model(DEFAULT_MODEL).path


@pytest.fixture(scope="session")
def gemma_gguf() -> Path:
    """The embedded Gemma-3-270m GGUF (no FIM tokens: served prefix-only); the smallest real model, for
    tests of the engine's own mechanics."""
    from fimkit.models import resolve_model

    return resolve_model("gemma-3-270m").path


@pytest.fixture
def fimkit_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "fimkit-home"
    monkeypatch.setenv("FIMKIT_HOME", str(home))
    return home


def pytest_report_header(config):
    return f"FIMKIT_HOME={os.environ.get('FIMKIT_HOME', '~/.cache/fimkit (default)')}"


def write_adapter(path, base, *, arch=None, kind="adapter", lora_type="lora", rank=4, drop=(), wrong=(),
                  extra=(), alpha=8.0, seed=None):
    """A LoRA adapter GGUF for ``base`` written with gguf-py, A and B zero so it changes nothing (with a
    ``seed``: random and large, so each seed changes the model's output its own way);
    ``drop`` leaves out tensors, ``wrong`` gives tensors a shape one column too wide, ``extra`` adds
    pairs for tensors the base does not have."""
    import gguf
    import numpy as np

    from fimkit.models.gguf_meta import read_gguf_header

    rng = np.random.default_rng(seed) if seed is not None else None
    header = read_gguf_header(base, decode_arrays=frozenset())
    w = gguf.GGUFWriter(str(path), arch or header.architecture)
    w.add_string("general.type", kind)
    if lora_type is not None:
        w.add_string("adapter.type", lora_type)
    w.add_float32("adapter.lora.alpha", alpha)
    targets = [t for t in header.tensors if t.name.endswith(("attn_q.weight", "attn_v.weight"))
               or (rng is not None and t.name.endswith(("ffn_down.weight", "attn_output.weight")))]
    for t in targets:
        n_in, n_out = t.shape
        if t.name in wrong:
            n_in += 1
        a, b = np.zeros((rank, n_in), np.float32), np.zeros((n_out, rank), np.float32)  # numpy: slowest dim first
        if rng is not None:
            a, b = (rng.normal(0, 1.0, x.shape).astype(np.float32) for x in (a, b))
        if t.name + ".lora_a" not in drop:
            w.add_tensor(t.name + ".lora_a", a)
        if t.name + ".lora_b" not in drop:
            w.add_tensor(t.name + ".lora_b", b)
    for name in extra:
        w.add_tensor(name + ".lora_a", np.zeros((rank, 8), np.float32))
        w.add_tensor(name + ".lora_b", np.zeros((8, rank), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def build_tiny_qwen_dir(path: Path, *, fim_format: str = "qwen2.5-coder:spm-paper") -> Path:
    """A tiny random Qwen2 Hugging Face folder with Qwen2.5-Coder's sentinels (what vLLM loads), its FIM
    format recorded. The special tokens' rows are zero, so greedy middles are plain text, not end tokens."""
    import json

    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = build_tiny_tokenizer("qwen2.5-coder")
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                         pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=True)
    model = Qwen2ForCausalLM(config).eval()
    with torch.no_grad():
        specials = [i for t, i in tok.get_vocab().items() if t.startswith("<")]
        model.model.embed_tokens.weight[specials] = 0.0
    model.save_pretrained(path)
    tok.save_pretrained(path)
    (path / "fimkit.json").write_text(json.dumps({"fim_format": fim_format}))
    return path


def write_peft_adapter(path: Path, base: Path, *, seed: int, rank: int = 4) -> Path:
    """A PEFT LoRA adapter on ``base`` with random (non-zero) B matrices, so it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(base))
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    peft.save_pretrained(str(path))
    return path
