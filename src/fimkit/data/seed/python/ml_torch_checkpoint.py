"""Save and resume full training state: model, optimiser, scheduler, RNGs.

Writes go to a temporary file that is then atomically renamed, so a crash
mid-save never leaves a truncated checkpoint in place of a good one.
"""
import os
import random
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch


def save_checkpoint(path, model, optimizer, scheduler=None, epoch=0, **extra: Any) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "rng": {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        },
        "extra": extra,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        os.unlink(tmp)
        raise


def load_checkpoint(path, model, optimizer=None, scheduler=None,
                    map_location: Optional[str] = "cpu") -> int:
    """Restore state in place and return the epoch to resume from."""
    # weights_only=False: the RNG states are numpy/python objects. Only load
    # checkpoints you produced yourself, since unpickling can run code.
    state = torch.load(path, map_location=map_location, weights_only=False)
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    rng = state["rng"]
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return state["epoch"] + 1


if __name__ == "__main__":
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(3, 4)).sum().backward()
    opt.step()
    with tempfile.TemporaryDirectory() as d:
        ckpt = Path(d) / "run" / "last.pt"
        save_checkpoint(ckpt, net, opt, epoch=4, best_acc=0.91)
        expected = torch.rand(1)
        clone = torch.nn.Linear(4, 2)
        start = load_checkpoint(ckpt, clone, torch.optim.SGD(clone.parameters(), lr=0.1, momentum=0.9))
        print(start, torch.equal(clone.weight, net.weight), torch.equal(torch.rand(1), expected))
