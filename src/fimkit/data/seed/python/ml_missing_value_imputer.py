"""Impute missing values (NaN) column by column.

Strategies: 'mean', 'median', 'most_frequent' or 'constant'. An optional
indicator matrix records where values were missing, because "missingness"
itself is often predictive and imputation would otherwise erase it.
"""
from typing import Literal, Optional

import numpy as np

Strategy = Literal["mean", "median", "most_frequent", "constant"]


def _mode(col: np.ndarray) -> float:
    col = col[~np.isnan(col)]
    if col.size == 0:
        return np.nan
    vals, counts = np.unique(col, return_counts=True)
    return float(vals[np.argmax(counts)])  # ties -> smallest value (unique sorts)


class SimpleImputer:
    def __init__(self, strategy: Strategy = "mean", fill_value: float = 0.0,
                 add_indicator: bool = False) -> None:
        self.strategy = strategy
        self.fill_value = fill_value
        self.add_indicator = add_indicator
        self.statistics_: Optional[np.ndarray] = None

    def fit(self, X: np.ndarray) -> "SimpleImputer":
        X = np.asarray(X, dtype=np.float64)
        if self.strategy == "mean":
            with np.errstate(all="ignore"):
                stats = np.nanmean(X, axis=0)
        elif self.strategy == "median":
            with np.errstate(all="ignore"):
                stats = np.nanmedian(X, axis=0)
        elif self.strategy == "most_frequent":
            stats = np.array([_mode(X[:, j]) for j in range(X.shape[1])])
        elif self.strategy == "constant":
            stats = np.full(X.shape[1], self.fill_value)
        else:
            raise ValueError(f"unknown strategy {self.strategy!r}")
        # A column that is entirely NaN has no statistic; use fill_value.
        self.statistics_ = np.where(np.isnan(stats), self.fill_value, stats)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.statistics_ is None:
            raise RuntimeError("imputer is not fitted")
        X = np.array(X, dtype=np.float64)  # copy: never mutate caller data
        mask = np.isnan(X)
        rows, cols = np.nonzero(mask)
        X[rows, cols] = self.statistics_[cols]
        if self.add_indicator:
            X = np.hstack([X, mask.astype(np.float64)])
        return X


if __name__ == "__main__":
    import warnings

    data = np.array([[1.0, np.nan, 3.0], [np.nan, 2.0, 3.0], [7.0, 2.0, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slice warnings
        for s in ("mean", "median", "most_frequent"):
            print(s, SimpleImputer(s).fit(data).transform(data).tolist())
    print(SimpleImputer("constant", fill_value=-1, add_indicator=True).fit(data).transform(data))
