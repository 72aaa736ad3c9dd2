"""LoRA: low-rank adaptation of a frozen ``nn.Linear``.

The adapted layer computes  W x + (alpha / r) * B A x  where W is frozen and
only A (r x in) and B (out x r) are trained. B starts at zero, so at step 0
the wrapped layer behaves exactly like the original one.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        if rank <= 0:
            raise ValueError("rank must be positive")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.rank = rank
        self.scaling = alpha / rank  # keeps update size stable when rank changes
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if not self.merged:
            update = F.linear(F.linear(self.dropout(x), self.lora_A), self.lora_B)
            out = out + self.scaling * update
        return out

    @torch.no_grad()
    def merge(self) -> None:
        """Fold the adapter into W for zero-overhead inference."""
        if not self.merged:
            self.base.weight += self.scaling * (self.lora_B @ self.lora_A)
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if self.merged:
            self.base.weight -= self.scaling * (self.lora_B @ self.lora_A)
            self.merged = False


def inject_lora(model: nn.Module, target_names: tuple = ("q_proj", "v_proj"), **kwargs) -> nn.Module:
    """Replace matching nn.Linear children (recursively) with LoRALinear."""
    for name, child in model.named_children():
        if isinstance(child, nn.Linear) and name in target_names:
            setattr(model, name, LoRALinear(child, **kwargs))
        else:
            inject_lora(child, target_names, **kwargs)
    return model


if __name__ == "__main__":
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(16, 8), rank=4)
    x = torch.randn(3, 16)
    print("identity at init:", torch.allclose(layer(x), layer.base(x)))
    nn.init.normal_(layer.lora_B)  # pretend we trained it
    before = layer(x)
    layer.merge()
    print("merge preserves output:", torch.allclose(before, layer(x), atol=1e-5))
    print("trainable:", [n for n, p in layer.named_parameters() if p.requires_grad])
