"""Linear warmup followed by cosine decay, as a LambdaLR multiplier.

Warmup matters for adaptive optimisers: Adam's second-moment estimate is
noisy for the first steps, so full-size updates early on can destabilise
training. The schedule is a pure function of the step, which makes it easy
to resume from a checkpoint.
"""
import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def warmup_cosine_factor(step, warmup_steps, total_steps, min_ratio=0.0):
    """Multiplier in [min_ratio, 1] applied to each param group's base lr."""
    if warmup_steps > 0 and step < warmup_steps:
        # (step + 1) so the very first update does not use lr = 0.
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return min_ratio + (1.0 - min_ratio) * cosine


def build_scheduler(optimizer, warmup_steps, total_steps, min_ratio=0.1):
    if total_steps <= warmup_steps:
        raise ValueError("total_steps must exceed warmup_steps")
    return LambdaLR(
        optimizer,
        lambda step: warmup_cosine_factor(step, warmup_steps, total_steps, min_ratio),
    )


if __name__ == "__main__":
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=1e-3)
    sched = build_scheduler(opt, warmup_steps=10, total_steps=100)
    trace = []
    for step in range(100):
        trace.append(opt.param_groups[0]["lr"])
        opt.step()      # optimizer first, then scheduler (PyTorch >= 1.1 order)
        sched.step()
    for s in (0, 9, 10, 55, 99):
        print(f"step {s:3d}: lr={trace[s]:.2e}")
