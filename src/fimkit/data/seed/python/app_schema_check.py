"""A tiny JSON-Schema-like validator for API payloads (a practical subset)."""
from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,),
    "integer": (int,), "number": (int, float), "boolean": (bool,), "null": (type(None),),
}


def _type_ok(value: Any, expected: str) -> bool:
    # JSON has no separate bool in numbers, but Python's bool subclasses int.
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[expected])


def check(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Return a list of "path: problem" strings; empty means the value conforms."""
    problems: list[str] = []
    expected = schema.get("type")
    if expected is not None:
        options = expected if isinstance(expected, list) else [expected]
        if not any(_type_ok(value, t) for t in options):
            # Nested checks would only produce noise once the type is wrong.
            return [f"{path}: expected {' or '.join(options)}, got {type(value).__name__}"]

    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: must be one of {schema['enum']!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            problems.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{path}: longer than {schema['maxLength']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{path}: below minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{path}: above maximum {schema['maximum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{path}.{key}: is required")
        props = schema.get("properties", {})
        for key, sub_value in value.items():
            if key in props:
                problems += check(sub_value, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path}.{key}: unexpected property")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            problems += check(item, schema["items"], f"{path}[{i}]")
    return problems


ORDER_SCHEMA = {
    "type": "object",
    "required": ["id", "lines"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 3},
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "lines": {"type": "array", "items": {
            "type": "object", "required": ["sku", "qty"],
            "properties": {"sku": {"type": "string"},
                           "qty": {"type": "integer", "minimum": 1, "maximum": 99}},
        }},
    },
}

if __name__ == "__main__":
    for issue in check({"id": "o1", "currency": "YEN", "lines": [{"sku": "A", "qty": 0}],
                        "note": "rush"}, ORDER_SCHEMA):
        print(issue)
