"""LayerNorm and RMSNorm implemented from scratch.

LayerNorm re-centres and re-scales each feature vector; RMSNorm drops the
mean subtraction (and the bias), which is cheaper and in practice works
about as well for transformers.
"""
import torch
from torch import nn


class LayerNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Compute statistics in fp32 even under autocast: the variance of
        # half-precision activations is easily inaccurate.
        xf = x.float()
        mean = xf.mean(dim=-1, keepdim=True)
        var = xf.var(dim=-1, keepdim=True, unbiased=False)  # biased, like torch's
        y = (xf - mean) * torch.rsqrt(var + self.eps)
        y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y.to(x.dtype)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        inv_rms = torch.rsqrt(xf.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return (xf * inv_rms).to(x.dtype) * self.weight

    def extra_repr(self) -> str:
        return f"{self.weight.numel()}, eps={self.eps}"


if __name__ == "__main__":
    torch.manual_seed(0)
    x = torch.randn(4, 10, 64) * 3 + 1
    ours, ref = LayerNorm(64), nn.LayerNorm(64)
    print("layernorm matches:", torch.allclose(ours(x), ref(x), atol=1e-5))
    rms = RMSNorm(64)
    out = rms(x)
    print(rms, "rms of output:", out.pow(2).mean(-1).sqrt().mean().item())
