"""Convert a CSV export into JSON, inferring numeric and boolean column types."""
import argparse
import csv
import json
import math
import sys
from typing import Any, Iterable, TextIO

_TRUE = {"true", "yes", "y"}
_FALSE = {"false", "no", "n"}


def infer(value: str) -> Any:
    """Best-effort typing of a single cell; empty cells become None."""
    text = value.strip()
    if text == "":
        return None
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    # Leading zeros usually mean an identifier (zip code, SKU), so keep them as text.
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits.startswith("0") and digits.isdigit():
        return text
    for cast in (int, float):
        try:
            number = cast(text)
        except ValueError:
            continue
        # float() also accepts "nan" and "inf", which are almost always real words.
        return number if math.isfinite(number) else text
    return text


def rows_to_records(rows: Iterable[dict[str, str]], typed: bool) -> list[dict[str, Any]]:
    records = []
    for row in rows:
        # DictReader stores surplus cells under the None key; drop them.
        clean = {k.strip(): v for k, v in row.items() if k is not None}
        records.append({k: infer(v or "") for k, v in clean.items()} if typed else clean)
    return records


def convert(src: TextIO, dst: TextIO, delimiter: str = ",", typed: bool = True,
            ndjson: bool = False) -> int:
    reader = csv.DictReader(src, delimiter=delimiter)
    records = rows_to_records(reader, typed)
    if ndjson:
        for rec in records:
            dst.write(json.dumps(rec, ensure_ascii=False) + "\n")
    else:
        json.dump(records, dst, ensure_ascii=False, indent=2)
        dst.write("\n")
    return len(records)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("csv_file", nargs="?", help="input path (default: stdin)")
    ap.add_argument("-d", "--delimiter", default=",")
    ap.add_argument("--raw", action="store_true", help="keep every value as a string")
    ap.add_argument("--ndjson", action="store_true", help="one JSON object per line")
    args = ap.parse_args()
    # newline="" lets the csv module handle quoted fields containing line breaks.
    src = open(args.csv_file, newline="", encoding="utf-8-sig") if args.csv_file else sys.stdin
    with src:
        count = convert(src, sys.stdout, args.delimiter, not args.raw, args.ndjson)
    print(f"converted {count} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
