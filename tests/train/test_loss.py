"""The label-only loss, over the whole vocabulary and over the tokens the labels use (softmax seen)."""

import pytest
from conftest import build_tiny_model, build_tiny_tokenizer

from fimkit.errors import FimkitError
from fimkit.train.examples import IGNORE, Example
from fimkit.train.loss import Vocabulary, check_output_layer, label_loss, seen_tokens

torch = pytest.importorskip("torch")
VOCAB = 120


def _batch():
    torch.manual_seed(1)
    ids = torch.randint(3, VOCAB, (2, 12))
    labels = ids.clone()
    labels[0, :5] = IGNORE  # a prompt: no loss there
    labels[1, -3:] = IGNORE
    return ids, torch.ones_like(ids), labels


def _loss_and_grad(model, vocab=None):
    model.zero_grad()
    ids, mask, labels = _batch()
    loss, count = label_loss(model, ids, mask, labels, torch, vocab)
    loss.backward()
    return loss.detach(), count, model.model.layers[0].self_attn.q_proj.weight.grad.clone()


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_every_row_kept_is_the_full_loss(arch):
    model = build_tiny_model(arch, VOCAB)
    full = _loss_and_grad(model)
    seen = _loss_and_grad(model, Vocabulary(list(range(VOCAB)), VOCAB, torch, "cpu"))
    assert full[1] == seen[1] == (11 - 4) + (11 - 3)  # targets are labels[:, 1:]
    assert torch.allclose(full[0], seen[0], atol=1e-6) and torch.allclose(full[2], seen[2], atol=1e-6)


def test_kept_rows_are_a_softmax_over_those_rows_alone():
    model = build_tiny_model("gemma3", VOCAB)
    model.config.final_logit_softcapping = 5.0  # Gemma 2's cap: it applies to the kept logits too
    ids, mask, labels = _batch()
    kept = seen_tokens([Example(ids=row.tolist(), labels=row.tolist(), source="x") for row in labels])
    assert kept == sorted(set(labels[labels != IGNORE].tolist()))
    unused = next(i for i in range(3, VOCAB) if i not in kept)
    vocab = Vocabulary(sorted([*kept, unused]), VOCAB, torch, "cpu")  # a row no label uses still shares the mass
    loss, _ = label_loss(model, ids, mask, labels, torch, vocab)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[:, :-1]  # transformers applies the same cap
        targets = labels[:, 1:]
        keep = targets != IGNORE
        rows = logits[keep][:, vocab.ids]
        expected = torch.nn.functional.cross_entropy(rows, vocab.position[targets[keep]])
    assert torch.allclose(loss.detach(), expected, atol=1e-5)
    full, _ = label_loss(model, ids, mask, labels, torch)
    assert loss < full  # fewer rows share the probability mass


def test_a_label_outside_the_kept_rows_is_refused():
    model = build_tiny_model("llama", VOCAB)
    ids, mask, labels = _batch()
    with pytest.raises(FimkitError, match="outside the seen vocabulary"):
        label_loss(model, ids, mask, labels, torch, Vocabulary([3, 4], VOCAB, torch, "cpu"))
    with pytest.raises(FimkitError, match="no"):
        Vocabulary([], VOCAB, torch, "cpu")


def test_a_wrapped_output_layer_is_refused():
    """Gemma ties its output layer to the embedding, so PEFT's trainable sentinel rows wrap both."""
    peft = pytest.importorskip("peft")
    check_output_layer(build_tiny_model("llama", VOCAB), torch)
    wrapped = peft.get_peft_model(build_tiny_model("gemma3", VOCAB), peft.LoraConfig(
        r=2, target_modules=["q_proj"], trainable_token_indices={"embed_tokens": [5, 6]}))
    with pytest.raises(FimkitError, match="softmax full"):
        check_output_layer(wrapped.get_base_model(), torch)


@pytest.mark.slow
def test_training_with_softmax_seen(tmp_path):
    """A real run: the kept rows are the labels' tokens, the setting is saved, and the held-out loss
    (over the whole vocabulary) is logged as for softmax full."""
    import json

    from fimkit.data.jsonl import write_jsonl
    from fimkit.data.seed import SamplesConfig, make_examples
    from fimkit.train.config import load_config
    from fimkit.train.trainer import train

    tok = build_tiny_tokenizer("fimkit")  # FIM tokens already there: no rows added
    build_tiny_model("gemma3", len(tok)).save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    with write_jsonl(tmp_path / "d.jsonl") as write:
        for ex in make_examples(SamplesConfig(count=40)):
            write(ex)
    logged = []
    settings = {"model": str(tmp_path / "base"), "data": str(tmp_path / "d.jsonl"), "fim_format": "fimkit:psm",
                "output": str(tmp_path / "run"), "max_steps": 3, "eval_every": 3, "seq_len": 256,
                "softmax": "seen", "loss": "all", "eval_fraction": 0.3}
    train(load_config(None, settings), log=logged.append)
    kept = [m for m in logged if m.startswith("softmax over the")]
    assert kept and f"of {len(tok)} tokens" in kept[0] and int(kept[0].split()[3]) < len(tok)
    assert "softmax: seen" in (tmp_path / "run" / "hyperparameters.yaml").read_text()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 3 and "eval_loss" in rows[-1] and all(r["loss"] > 0 for r in rows)
    assert (tmp_path / "run" / "adapter" / "adapter_config.json").is_file()
    # A base without FIM tokens gets new rows, which only softmax full can train.
    plain = build_tiny_tokenizer(None)
    build_tiny_model("gemma3", len(plain)).save_pretrained(tmp_path / "plain")
    plain.save_pretrained(tmp_path / "plain")
    with pytest.raises(FimkitError, match="softmax full"):
        train(load_config(None, {**settings, "model": str(tmp_path / "plain"), "output": str(tmp_path / "run2")}),
              log=lambda m: None)
