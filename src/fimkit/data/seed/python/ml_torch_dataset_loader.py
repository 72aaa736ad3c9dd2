"""A map-style Dataset over in-memory arrays plus a DataLoader factory.

Seeding: each DataLoader worker gets its own torch seed automatically, but
NumPy and ``random`` are *not* reseeded per worker, so random augmentations
would repeat across workers. ``seed_worker`` fixes that.
"""
import random
from typing import Callable, Optional, Tuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class ArrayDataset(Dataset):
    def __init__(
        self,
        features: np.ndarray,
        targets: np.ndarray,
        transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    ) -> None:
        if len(features) != len(targets):
            raise ValueError("features and targets differ in length")
        # Convert once up front rather than on every __getitem__ call.
        self.features = torch.as_tensor(features, dtype=torch.float32)
        self.targets = torch.as_tensor(targets, dtype=torch.long)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, idx: int) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.features[idx]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.targets[idx]


def seed_worker(worker_id: int) -> None:
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def make_loader(ds: Dataset, batch_size: int, train: bool, seed: int = 0,
                num_workers: int = 0) -> DataLoader:
    gen = torch.Generator()
    gen.manual_seed(seed)  # reproducible shuffling order
    return DataLoader(
        ds,
        batch_size=batch_size,
        shuffle=train,
        drop_last=train,  # avoid a tiny last batch upsetting BatchNorm
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
        worker_init_fn=seed_worker,
        generator=gen,
    )


if __name__ == "__main__":
    X = np.random.rand(103, 4).astype(np.float32)
    y = np.random.randint(0, 3, size=103)
    noisy = ArrayDataset(X, y, transform=lambda t: t + 0.01 * torch.randn_like(t))
    loader = make_loader(noisy, batch_size=16, train=True)
    xb, yb = next(iter(loader))
    print(len(loader), xb.shape, yb.dtype)
