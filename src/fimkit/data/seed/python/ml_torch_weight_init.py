"""Explicit weight initialisation applied with ``Module.apply``.

PyTorch's defaults (Kaiming-uniform with a=sqrt(5)) are reasonable but not
tuned to the nonlinearity that follows each layer. Matching the gain to the
activation keeps activation variance roughly constant through depth.
"""
import math

import torch
from torch import nn


def init_weights(module: nn.Module, nonlinearity: str = "relu") -> None:
    """Per-module init; pass to ``model.apply`` (it visits every submodule)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        # fan_out preserves gradient magnitude in the backward pass, which is
        # what matters most for deep conv stacks.
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity=nonlinearity)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        if nonlinearity in ("relu", "leaky_relu"):
            nn.init.kaiming_uniform_(module.weight, nonlinearity=nonlinearity)
        else:
            nn.init.xavier_uniform_(module.weight, gain=nn.init.calculate_gain(nonlinearity))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)):
        if module.weight is not None:  # affine=False norms have no parameters
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=module.embedding_dim ** -0.5)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()


def zero_init_last_layer(model: nn.Sequential) -> None:
    """Zero the final Linear so the untrained model outputs uniform logits.

    The first loss then equals log(num_classes) exactly, a handy sanity check.
    """
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    nn.init.zeros_(last.weight)
    if last.bias is not None:
        nn.init.zeros_(last.bias)


if __name__ == "__main__":
    torch.manual_seed(0)
    depth, width = 20, 256
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    deep = nn.Sequential(*layers, nn.Linear(width, 10))
    x = torch.randn(512, width)
    with torch.no_grad():
        print("default init, output std:", deep[:-1](x).std().item())
        deep.apply(init_weights)
        print("kaiming init, output std:", deep[:-1](x).std().item())
        zero_init_last_layer(deep)
        loss = nn.functional.cross_entropy(deep(x), torch.randint(0, 10, (512,)))
        print(f"initial loss {loss.item():.4f} vs log(10) = {math.log(10):.4f}")
