import pytest

from fimkit.formats import detect_from_gguf, detect_from_tokenizer, detect_from_vocab, families, get_family

BASE_VOCAB = {"<pad>", "<eos>", "<bos>", "def", "return", "▁the"}


@pytest.mark.parametrize("name", ["fimkit", "qwen2.5-coder", "starcoder", "codellama", "deepseek-coder", "codestral", "codegemma"])
def test_each_family_is_detected_from_its_own_sentinels(name):
    family = get_family(name)
    found = detect_from_vocab(BASE_VOCAB | set(family.sentinels()))
    assert found.family == family, found.describe()


def test_a_vocabulary_without_fim_tokens_is_prefix_only():
    found = detect_from_vocab(BASE_VOCAB | {"<fim_prefix>", "<fim_suffix>"})  # no middle: not FIM
    assert found.family is None and "prefix-only" in found.describe()


def test_name_hint_breaks_ties():
    vocab = BASE_VOCAB | set(get_family("fimkit").sentinels())
    assert detect_from_vocab(vocab).family.name == "fimkit"
    # Identical spellings: a model named like Qwen is Qwen.
    vocab_q = BASE_VOCAB | set(get_family("qwen2.5-coder").sentinels())
    assert detect_from_vocab(vocab_q, name_hint="Qwen2.5-Coder-0.5B").family.name == "qwen2.5-coder"


def _gguf_tokens(extra):
    return ["<pad>", "<eos>", "<bos>", "a", "b", *extra]


def test_gguf_fim_keys_win_over_the_vocabulary():
    tokens = _gguf_tokens(["<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"])
    meta = {
        "tokenizer.ggml.fim_pre_token_id": 5, "tokenizer.ggml.fim_mid_token_id": 6,
        "tokenizer.ggml.fim_suf_token_id": 7, "general.name": "tiny",
    }
    found = detect_from_gguf(meta, tokens)
    assert found.family.name == "starcoder" and "fim_*" in found.source


def test_gguf_with_unknown_spellings_gets_a_custom_family():
    tokens = _gguf_tokens(["[[P]]", "[[S]]", "[[M]]", "[[END]]"])
    meta = {
        "tokenizer.ggml.fim_pre_token_id": 5, "tokenizer.ggml.fim_suf_token_id": 6,
        "tokenizer.ggml.fim_mid_token_id": 7, "tokenizer.ggml.eot_token_id": 8,
    }
    found = detect_from_gguf(meta, tokens)
    assert (found.family.prefix, found.family.suffix, found.family.middle, found.family.eot) == (
        "[[P]]", "[[S]]", "[[M]]", "[[END]]"
    )


def test_gguf_old_key_names_and_vocab_fallback():
    tokens = _gguf_tokens(["<PRE>", "<SUF>", "<MID>", "<EOT>"])
    old = {"tokenizer.ggml.prefix_token_id": 5, "tokenizer.ggml.suffix_token_id": 6, "tokenizer.ggml.middle_token_id": 7}
    assert detect_from_gguf(old, tokens).family.name == "codellama"
    assert detect_from_gguf({}, tokens).family.name == "codellama"  # no keys: llama.cpp-style guess by spelling
    assert detect_from_gguf({}, _gguf_tokens([])).family is None


def test_gguf_fimkit_record_carries_the_layout():
    found = detect_from_gguf({"fimkit.fim_format": "fimkit:spm-paper"}, None)
    assert found.family.name == "fimkit" and found.layout == "spm-paper"


@pytest.mark.slow
def test_detection_from_a_tiny_hf_tokenizer(tiny_tokenizer):
    found = detect_from_tokenizer(tiny_tokenizer)
    assert found.family == families()["fimkit"]
    # The sentinels are single tokens, and plain code does not produce them.
    for s in found.family.structural():
        assert len(tiny_tokenizer.encode(s, add_special_tokens=False)) == 1
