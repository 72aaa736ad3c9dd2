"""Declarative validation of plain dicts without pydantic."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

Check = Callable[[Any], "str | None"]  # returns an error message, or None if fine


def required() -> Check:
    return lambda v: "is required" if v is None or v == "" else None


def of_type(*types: type) -> Check:
    names = " or ".join(t.__name__ for t in types)
    # bool is a subclass of int; reject it explicitly when ints are expected.
    def check(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, bool) and bool not in types:
            return f"must be {names}"
        return None if isinstance(v, types) else f"must be {names}"
    return check


def length(min_len: int = 0, max_len: int | None = None) -> Check:
    def check(v: Any) -> str | None:
        if v is None:
            return None
        if len(v) < min_len:
            return f"must have at least {min_len} characters"
        if max_len is not None and len(v) > max_len:
            return f"must have at most {max_len} characters"
        return None
    return check


def between(lo: float, hi: float) -> Check:
    return lambda v: None if v is None or lo <= v <= hi else f"must be between {lo} and {hi}"


def matches(pattern: str, hint: str) -> Check:
    rx = re.compile(pattern)
    return lambda v: None if v is None or rx.fullmatch(v) else hint


@dataclass
class Field:
    checks: tuple[Check, ...]


def validate(data: dict[str, Any], schema: dict[str, Field]) -> dict[str, list[str]]:
    """Check every field instead of stopping at the first invalid one,
    so a form can show all problems in a single round trip."""
    errors: dict[str, list[str]] = {}
    for name, spec in schema.items():
        value = data.get(name)
        for check in spec.checks:
            msg = check(value)
            if msg:
                errors.setdefault(name, []).append(msg)
                break  # later checks usually assume earlier ones passed
    return errors


PRODUCT_SCHEMA = {
    "sku": Field((required(), of_type(str), matches(r"[A-Z]{3}-\d{4}", "must look like ABC-1234"))),
    "name": Field((required(), of_type(str), length(2, 80))),
    "price": Field((required(), of_type(int, float), between(0.01, 10_000))),
    "stock": Field((of_type(int), between(0, 1_000_000))),
}

if __name__ == "__main__":
    print(validate({"sku": "ab-12", "name": "X", "price": True}, PRODUCT_SCHEMA))
