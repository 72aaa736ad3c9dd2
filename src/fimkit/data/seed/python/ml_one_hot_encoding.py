"""Categorical encoders: a vocabulary-based label encoder and a one-hot
encoder that reserves a column for categories unseen during fitting."""
from __future__ import annotations

from typing import Hashable, Iterable, Sequence

import numpy as np


class LabelEncoder:
    """Map categories to contiguous integer ids, in first-seen order."""

    UNKNOWN = -1

    def __init__(self) -> None:
        self.index: dict[Hashable, int] = {}

    def fit(self, values: Iterable[Hashable]) -> LabelEncoder:
        for v in values:
            # setdefault keeps the first id a value was given.
            self.index.setdefault(v, len(self.index))
        return self

    def transform(self, values: Sequence[Hashable]) -> np.ndarray:
        return np.fromiter(
            (self.index.get(v, self.UNKNOWN) for v in values), dtype=np.int64, count=len(values)
        )

    def inverse_transform(self, ids: np.ndarray) -> list:
        reverse = list(self.index)  # dicts preserve insertion order
        return [reverse[i] if i >= 0 else None for i in ids]


def one_hot(ids: np.ndarray, n_categories: int, handle_unknown: bool = True) -> np.ndarray:
    """One-hot encode integer ids.

    With ``handle_unknown`` an extra last column absorbs id -1, so a model
    trained on these features still sees *something* for a new category
    instead of an all-zero row that looks like missing data.
    """
    ids = np.asarray(ids)
    width = n_categories + int(handle_unknown)
    if not handle_unknown and np.any(ids < 0):
        raise ValueError("unknown category id encountered")
    cols = np.where(ids < 0, n_categories, ids)
    out = np.zeros((ids.size, width), dtype=np.float32)
    out[np.arange(ids.size), cols.ravel()] = 1.0
    return out.reshape(*ids.shape, width)


if __name__ == "__main__":
    colours = ["red", "green", "red", "blue"]
    enc = LabelEncoder().fit(colours)
    ids = enc.transform(["blue", "red", "purple"])
    print(ids, enc.inverse_transform(ids))
    print(one_hot(ids, len(enc.index)))
