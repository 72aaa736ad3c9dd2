"""Multi-head self-attention written out explicitly (no nn.MultiheadAttention)."""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, causal: bool = False):
        super().__init__()
        if d_model % n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.causal = causal
        # One fused projection for Q, K and V: a single larger matmul is
        # faster than three small ones.
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.attn_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x: (B, T, d_model); key_padding_mask: (B, T) bool, True = padding."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        # (B, T, H*D) -> (B, H, T, D)
        q, k, v = (t.view(B, T, self.n_heads, self.d_head).transpose(1, 2) for t in (q, k, v))

        # Scale by sqrt(d_head) so logits keep unit variance and softmax does
        # not saturate as the head dimension grows.
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, H, T, T)
        if self.causal:
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, None, :], float("-inf"))

        weights = F.softmax(scores, dim=-1)
        # A fully masked row gives softmax(-inf...) = nan; zero it instead.
        weights = torch.nan_to_num(weights, nan=0.0)
        ctx = self.attn_drop(weights) @ v                      # (B, H, T, D)
        ctx = ctx.transpose(1, 2).reshape(B, T, self.n_heads * self.d_head)
        return self.out(ctx)


if __name__ == "__main__":
    torch.manual_seed(0)
    mha = MultiHeadSelfAttention(d_model=32, n_heads=4, causal=True).eval()
    x = torch.randn(2, 6, 32)
    pad = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    y = mha(x, key_padding_mask=pad)
    # Causality check: changing the last token must not affect earlier outputs.
    x2 = x.clone(); x2[:, -1] += 1.0
    print(y.shape, torch.allclose(y[:, :-1], mha(x2, key_padding_mask=pad)[:, :-1], atol=1e-6))
