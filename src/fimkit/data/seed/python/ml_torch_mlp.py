"""A configurable multilayer perceptron as a torch ``nn.Module``."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}


class MLP(nn.Module):
    """Linear -> [Norm] -> Activation -> Dropout blocks, then a linear head.

    The head has no activation: classification losses such as
    ``nn.CrossEntropyLoss`` expect raw logits and apply log-softmax themselves.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        activation: str = "relu",
        dropout: float = 0.0,
        layer_norm: bool = False,
    ) -> None:
        super().__init__()
        try:
            act_cls = _ACTIVATIONS[activation]
        except KeyError:
            raise ValueError(f"unsupported activation {activation!r}") from None

        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            # A bias is redundant right before a normalisation layer.
            layers.append(nn.Linear(width, h, bias=not layer_norm))
            if layer_norm:
                layers.append(nn.LayerNorm(h))
            layers.append(act_cls())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Flatten any trailing dims (e.g. images) but keep the batch dim.
        return self.head(self.body(x.flatten(start_dim=1)))


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


if __name__ == "__main__":
    net = MLP(28 * 28, hidden=[256, 128], out_features=10, activation="gelu",
              dropout=0.1, layer_norm=True)
    logits = net(torch.randn(4, 1, 28, 28))
    print(logits.shape, count_parameters(net))
