"""The training loss: cross-entropy at the labelled positions only, over the whole vocabulary or the
part of it the training labels use.

Why only labelled positions: Gemma's output layer has 262k rows, and with ``loss: middle`` most
positions are prompt; skipping their logits is the largest saving on a CPU (fim-facts section 8).

Why ``softmax: seen``: with loss on every token (``fimkit adapt``'s next-token objective) every
position is labelled, and the output layer and its 262k-way softmax are then most of each step. A
repository's training text uses a few tens of thousands of those tokens. Normalizing over them
alone (the logits of the other rows are never computed) makes each step cheaper; what is given up is
the push-down of tokens the repository never uses, which the base already ranks low. The held-out
loss is always over the whole vocabulary, so it stays comparable between the two.
"""

from __future__ import annotations

from fimkit.errors import FimkitError
from fimkit.train.examples import IGNORE, Example


def seen_tokens(examples: list[Example]) -> list[int]:
    """The sorted token ids that occur as a label in ``examples``: the rows ``softmax: seen`` keeps."""
    seen = set()
    for e in examples:
        seen.update(e.labels)
    seen.discard(IGNORE)
    return sorted(seen)


class Vocabulary:
    """The output rows a restricted softmax keeps, and where each kept token id lands among them."""

    def __init__(self, ids: list[int], vocab_size: int, torch, device):
        if not ids:
            raise FimkitError("softmax seen needs training examples with labels; there are none")
        self.ids = torch.tensor(ids, dtype=torch.long, device=device)
        self.position = torch.full((vocab_size,), -1, dtype=torch.long, device=device)
        self.position[self.ids] = torch.arange(len(ids), device=device)

    def __len__(self) -> int:
        return len(self.ids)


def check_output_layer(causal_lm, torch) -> None:
    """``softmax: seen`` indexes the output layer's weight, so it must be a plain linear layer: a
    wrapper (PEFT's trainable sentinel rows) keeps part of the weight elsewhere."""
    if type(causal_lm.get_output_embeddings()) is not torch.nn.Linear:
        raise FimkitError("softmax seen needs a plain output layer, and this run's is wrapped (new FIM token "
                          "rows are trained); use softmax full, or a model whose vocabulary has its FIM tokens")


def label_loss(causal_lm, input_ids, attention_mask, labels, torch, vocab: Vocabulary | None = None):
    """(cross-entropy over labelled positions only, their count): the output layer runs on those rows
    only, and on the ``vocab`` rows only when one is given."""
    hidden = causal_lm.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    rows = hidden[:, :-1][keep]
    targets = targets[keep]
    head = causal_lm.get_output_embeddings()
    if vocab is None:
        logits = head(rows).float()
    else:
        bias = None if head.bias is None else head.bias.index_select(0, vocab.ids)
        logits = torch.nn.functional.linear(rows, head.weight.index_select(0, vocab.ids), bias).float()
        targets = vocab.position[targets]
        if bool((targets < 0).any()):
            raise FimkitError("a label outside the seen vocabulary: softmax seen must be built from every "
                              "training example")
    cap = getattr(causal_lm.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits, targets), keep.sum()


def causal_lm_of(trained):
    """The causal LM under a PEFT model (LoRA), or the model itself (full fine-tuning)."""
    return trained.get_base_model() if hasattr(trained, "peft_config") else trained


def label_loss_module(trained, torch, vocab: Vocabulary | None = None):
    """The label-only loss as a module around the trained model (PEFT or full): DDP (``acc.prepare``)
    must see its forward called to synchronize gradients, and unwrapping it gives the model back."""

    class LabelLoss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.trained = trained

        def forward(self, input_ids, attention_mask, labels):
            return label_loss(causal_lm_of(self.trained), input_ids, attention_mask, labels, torch, vocab)

    return LabelLoss()
