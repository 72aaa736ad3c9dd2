"""One-epoch training and evaluation loops with automatic mixed precision
and gradient-norm clipping."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    max_grad_norm: float = 1.0,
) -> float:
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    # fp16 needs loss scaling; bf16 (used on CPU) has fp32's exponent range.
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    running, seen = 0.0, 0
    for inputs, targets in loader:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)  # cheaper than filling with zeros
        with torch.autocast(device_type=device.type, dtype=amp_dtype):
            loss = loss_fn(model(inputs), targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()}")
        scaler.scale(loss).backward()
        # Gradients must be unscaled before clipping, or the threshold would
        # be compared against scaled norms.
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        scaler.step(optimizer)  # skipped automatically if grads hold inf/nan
        scaler.update()
        running += loss.item() * len(targets)
        seen += len(targets)
    return running / max(seen, 1)


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, float]:
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs).float()
        total_loss += nn.functional.cross_entropy(logits, targets, reduction="sum").item()
        correct += (logits.argmax(dim=1) == targets).sum().item()
        count += len(targets)
    return total_loss / count, correct / count


if __name__ == "__main__":
    from torch.utils.data import TensorDataset

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    x = torch.randn(512, 20)
    y = (x[:, 0] + x[:, 1] > 0).long()
    data = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 2)).to(dev)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    grad_scaler = torch.amp.GradScaler(dev.type, enabled=dev.type == "cuda")
    for epoch in range(3):
        tr = train_one_epoch(net, data, opt, grad_scaler, dev)
        vl, acc = evaluate(net, data, dev)
        print(f"epoch {epoch} train {tr:.3f} val {vl:.3f} acc {acc:.2%}")
