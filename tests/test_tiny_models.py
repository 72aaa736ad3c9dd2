"""The tiny-model fixtures themselves: later issues train and export these, so they must be real."""

import pytest
from conftest import build_tiny_model, build_tiny_tokenizer

from fimkit.formats import FimFormat, split_specials

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_tiny_model_runs_on_a_rendered_fim_prompt(arch, tiny_tokenizer):
    import torch

    model = build_tiny_model(arch, len(tiny_tokenizer))
    assert sum(p.numel() for p in model.parameters()) < 500_000
    fmt = FimFormat.parse_spec("fimkit:psm")
    ids = [tiny_tokenizer.bos_token_id]
    for piece, special in split_specials(fmt.render("def add(a, b):\n    return ", "\n"), fmt.family):
        ids += tiny_tokenizer.encode(piece, add_special_tokens=False) if not special else [tiny_tokenizer.convert_tokens_to_ids(piece)]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    assert logits.shape == (1, len(ids), len(tiny_tokenizer))
    assert torch.isfinite(logits).all()


def test_tiny_tokenizer_for_other_families():
    tok = build_tiny_tokenizer("starcoder")
    assert tok.convert_tokens_to_ids("<fim_middle>") != tok.unk_token_id
