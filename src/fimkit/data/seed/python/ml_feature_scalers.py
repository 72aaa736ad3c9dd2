"""Fit-on-train / apply-everywhere feature scalers.

Statistics must come from the training split only; computing them on the
full dataset leaks information about the test set into the model.
"""
from __future__ import annotations

import numpy as np


class StandardScaler:
    """Scale each column to zero mean and unit variance."""

    def __init__(self, eps: float = 1e-12) -> None:
        self.eps = eps
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> StandardScaler:
        # nan-aware so a few missing values do not poison a whole column.
        self.mean = np.nanmean(data, axis=0)
        std = np.nanstd(data, axis=0)
        self.scale = np.where(std < self.eps, 1.0, std)
        return self

    def transform(self, data: np.ndarray) -> np.ndarray:
        if self.mean is None:
            raise RuntimeError("call fit() first")
        return (data - self.mean) / self.scale

    def inverse_transform(self, data: np.ndarray) -> np.ndarray:
        return data * self.scale + self.mean


class MinMaxScaler:
    """Map each column linearly onto ``feature_range`` (default [0, 1])."""

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        lo, hi = feature_range
        if lo >= hi:
            raise ValueError("feature_range must be increasing")
        self.lo, self.hi = lo, hi
        self.data_min: np.ndarray | None = None
        self.data_range: np.ndarray | None = None

    def fit(self, data: np.ndarray) -> MinMaxScaler:
        self.data_min = np.nanmin(data, axis=0)
        rng = np.nanmax(data, axis=0) - self.data_min
        self.data_range = np.where(rng == 0, 1.0, rng)  # constant column -> lo
        return self

    def transform(self, data: np.ndarray, clip: bool = False) -> np.ndarray:
        unit = (data - self.data_min) / self.data_range
        if clip:  # unseen data may fall outside the training range
            unit = np.clip(unit, 0.0, 1.0)
        return self.lo + unit * (self.hi - self.lo)


def l2_normalize_rows(data: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Unit-length rows, e.g. before cosine similarity; zero rows stay zero."""
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    return data / np.maximum(norms, eps)
