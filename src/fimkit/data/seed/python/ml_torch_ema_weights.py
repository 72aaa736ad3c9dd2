"""Exponential moving average (EMA) of model parameters.

Evaluating with averaged weights smooths out the noise of the last few SGD
steps and often gives a small, free accuracy gain. The EMA copy is kept
separate from the trained model and never receives gradients.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True) -> None:
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.warmup = warmup
        self.num_updates = 0

    def _current_decay(self) -> float:
        # Early on, a 0.999 decay would keep the EMA stuck near the random
        # init; ramping it up lets the average track the model at first.
        if not self.warmup:
            return self.decay
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.num_updates += 1
        d = self._current_decay()
        model_state = model.state_dict()
        for name, ema_val in self.shadow.state_dict().items():
            value = model_state[name].detach()
            if ema_val.dtype.is_floating_point:
                # ema = d * ema + (1 - d) * value, done in place
                ema_val.lerp_(value, 1.0 - d)
            else:
                # integer buffers (e.g. BatchNorm's num_batches_tracked) are copied
                ema_val.copy_(value)

    def __call__(self, *args, **kwargs):
        return self.shadow(*args, **kwargs)


if __name__ == "__main__":
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Linear(8, 1))
    ema = ModelEMA(net, decay=0.99)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    x, y = torch.randn(256, 8), torch.randn(256, 1)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
        ema.update(net)
    net.eval()
    with torch.no_grad():
        print(nn.functional.mse_loss(net(x), y).item(), nn.functional.mse_loss(ema(x), y).item())
    print("decay now", ema._current_decay())
