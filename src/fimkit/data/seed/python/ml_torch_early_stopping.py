"""Early stopping that remembers the best weights seen so far."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch


@dataclass
class EarlyStopping:
    """Stop once the monitored metric has not improved for ``patience`` epochs.

    ``min_delta`` ignores improvements too small to be meaningful (noise in a
    validation metric would otherwise reset the counter forever).
    """

    patience: int = 5
    min_delta: float = 0.0
    mode: str = "min"  # "min" for losses, "max" for accuracy-like metrics
    best: Optional[float] = None
    bad_epochs: int = 0
    best_state: Optional[Dict[str, Any]] = field(default=None, repr=False)

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float, model: Optional[torch.nn.Module] = None) -> bool:
        """Record one epoch's metric; return True when training should stop."""
        if self._improved(value):
            self.best = value
            self.bad_epochs = 0
            if model is not None:
                # deepcopy: state_dict() returns references that later
                # optimiser steps would silently overwrite.
                self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        if self.best_state is None:
            raise RuntimeError("no checkpoint recorded")
        model.load_state_dict(self.best_state)


if __name__ == "__main__":
    net = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=3, min_delta=0.01)
    val_losses = [1.0, 0.8, 0.7, 0.695, 0.71, 0.72, 0.69, 0.75]
    for epoch, loss in enumerate(val_losses):
        with torch.no_grad():
            net.weight.add_(0.1)  # stand-in for a training epoch
        if stopper.step(loss, net):
            print(f"stopping after epoch {epoch}, best={stopper.best}")
            break
    stopper.restore(net)
    print(net.weight)
