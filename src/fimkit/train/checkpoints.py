"""Training checkpoints: checkpoints/step-N folders with the trained weights (the adapter, or every
weight of a full fine-tune), optimizer, schedule, RNG and loop state, each written to a temporary
name and renamed, so a kill at any moment leaves whole ones."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from fimkit import runs
from fimkit.errors import FimkitError
from fimkit.fileio import atomic_output


class Checkpoints:
    """checkpoints/step-N folders, written whole or not at all; the two newest are kept."""

    def __init__(self, run: Path, *, full: bool = False):
        self.root = run / runs.CHECKPOINTS
        self.full = full
        self.weights = "model.pt" if full else "adapter.pt"

    def _state_dict(self, model) -> dict:
        if self.full:
            return model.state_dict()
        from peft import get_peft_model_state_dict

        return get_peft_model_state_dict(model)

    def latest(self) -> Path | None:
        done = sorted(p for p in self.root.glob("step-*") if p.is_dir() and (p / "state.json").is_file())
        return done[-1] if done else None

    def save(self, step: int, model, optimizer, state: dict, torch, scheduler=None) -> Path:
        final = self.root / f"step-{step:07d}"
        try:
            with atomic_output(final) as tmp:
                tmp.mkdir()
                torch.save(self._state_dict(model), tmp / self.weights)
                torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
                if scheduler is not None:
                    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
                torch.save({"python": random.getstate(), "torch": torch.get_rng_state()}, tmp / "rng.pt")
                (tmp / "state.json").write_text(json.dumps(state))
        except OSError as exc:
            last = self.latest()
            raise FimkitError(
                f"checkpoint at step {step} could not be written ({exc.strerror or exc}); nothing half-written was "
                f"kept. Free disk space and run the same command to resume"
                + (f" from {last.name}" if last else "")
            ) from exc
        for old in sorted(p for p in self.root.glob("step-*") if p.is_dir())[:-2]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def load(self, path: Path, model, optimizer, torch, scheduler) -> dict:
        weights = torch.load(path / self.weights, weights_only=False)
        if self.full:
            model.load_state_dict(weights)
        else:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(model, weights)
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
        rng = torch.load(path / "rng.pt", weights_only=False)
        random.setstate(rng["python"])
        torch.set_rng_state(rng["torch"])
        state = json.loads((path / "state.json").read_text())
        if (path / "scheduler.pt").is_file():
            scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
        else:  # written before the schedule was saved: its position is the step
            scheduler.last_epoch = state["step"]
        return state
