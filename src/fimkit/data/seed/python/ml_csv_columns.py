"""Load a CSV file into a dict of typed NumPy columns, without pandas.

Each column is typed independently: int if every non-empty cell parses as an
int, else float if they all parse as floats (empty -> NaN), else str.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Dict, List, TextIO, Union

import numpy as np

MISSING = {"", "na", "nan", "null", "none"}


def _infer(cells: List[str]) -> np.ndarray:
    present = [c for c in cells if c.strip().lower() not in MISSING]
    try:
        ints = [int(c) for c in present]
        if len(present) == len(cells):
            return np.array(ints, dtype=np.int64)
        # Integers with gaps cannot be int64 (no NaN), so promote to float.
    except ValueError:
        pass
    try:
        return np.array(
            [np.nan if c.strip().lower() in MISSING else float(c) for c in cells],
            dtype=np.float64,
        )
    except ValueError:
        return np.array(cells, dtype=object)


def read_columns(source: Union[str, Path, TextIO], delimiter: str = ",") -> Dict[str, np.ndarray]:
    if isinstance(source, (str, Path)):
        # newline="" is what the csv module expects; it handles quoted newlines.
        with open(source, newline="", encoding="utf-8") as fh:
            return read_columns(fh, delimiter)
    reader = csv.reader(source, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return {}
    names = [h.strip() for h in header]
    raw: List[List[str]] = [[] for _ in names]
    for lineno, row in enumerate(reader, start=2):
        if not row:  # blank line
            continue
        if len(row) != len(names):
            raise ValueError(f"line {lineno}: expected {len(names)} fields, got {len(row)}")
        for bucket, cell in zip(raw, row):
            bucket.append(cell)
    return {name: _infer(cells) for name, cells in zip(names, raw)}


if __name__ == "__main__":
    text = "id,score,label\n1,0.5,cat\n2,,dog\n3,1.25,\"bird, small\"\n"
    cols = read_columns(io.StringIO(text))
    for name, col in cols.items():
        print(name, col.dtype, col.tolist())
