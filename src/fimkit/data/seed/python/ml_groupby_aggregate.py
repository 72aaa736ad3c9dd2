"""Group-by aggregation over NumPy arrays: the bread-and-butter pandas
operation, done with np.unique + np.bincount / ufunc.reduceat."""
import numpy as np


def group_keys(keys):
    """Return (unique_keys, inverse) so that unique_keys[inverse] == keys."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, inverse.ravel()


def groupby_sum_mean_count(keys, values):
    """Sum, mean and count of ``values`` per distinct key.

    bincount with weights is a single pass in C, much faster than a dict
    loop in Python. NaN values are excluded from all three statistics.
    """
    values = np.asarray(values, dtype=np.float64)
    uniq, inv = group_keys(keys)
    valid = ~np.isnan(values)
    count = np.bincount(inv[valid], minlength=len(uniq))
    total = np.bincount(inv[valid], weights=values[valid], minlength=len(uniq))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count  # groups with only NaN get NaN, as they should
    return uniq, total, mean, count


def groupby_min_max(keys, values):
    """Min and max per key via reduceat on key-sorted values.

    reduceat needs each group to be a contiguous run, so sort by key first.
    A stable sort keeps the original order inside each group.
    """
    values = np.asarray(values)
    uniq, inv = group_keys(keys)
    order = np.argsort(inv, kind="stable")
    sorted_vals = values[order]
    starts = np.flatnonzero(np.r_[True, np.diff(inv[order]) != 0])
    return uniq, np.minimum.reduceat(sorted_vals, starts), np.maximum.reduceat(sorted_vals, starts)


if __name__ == "__main__":
    city = np.array(["oslo", "rome", "oslo", "lima", "rome", "oslo"])
    temp = np.array([3.0, 18.0, np.nan, 21.0, 16.0, 5.0])
    for key, total, mean, n in zip(*groupby_sum_mean_count(city, temp)):
        print(f"{key:>5}: sum={total:5.1f} mean={mean:5.1f} n={n}")
    print(groupby_min_max(city, np.array([3, 18, 1, 21, 16, 5])))
