"""Typed settings, declared once.

A settings class is a dataclass whose fields are declared with ``setting(default, help, ...)``. From
that one declaration come the command-line flags (``add_flags``), the checked conversion of a YAML
file (``build``, ``load_settings``: a wrong type or an unknown key names the file and the key) and the
file saved beside a run (``dump_yaml``). A field whose type is another settings class is a group:
YAML ``lora: {rank: 8}``, flag ``--lora-rank``, dotted key ``lora.rank``.

Types understood: bool, int, float, str, ``X | None`` of those, ``tuple[str, ...]`` and settings
classes. A number's range is declared with its field (``setting(16, "...", min=1)``) and checked
wherever a value enters: flag, file or a library caller. YAML 1.1 reads ``2e-4`` as a string, so a
float is also taken from a string; an integer is not (``warmup_steps: "5"`` is a quoted string in
the file, most likely a mistake), except from a flag, whose values are all text. Booleans are taken
from true/false/yes/no/on/off/1/0; a boolean is never taken for a number.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import functools
import math
import types
import typing
from pathlib import Path

from fimkit.errors import FimkitError

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_UNSET = object()


def read_yaml_mapping(path: str | Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise FimkitError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise FimkitError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise FimkitError(f"{path}: expected a mapping of settings at the top level")
    return data


def setting(default, help: str, *, choices=None, flag: str | None = None, short: str | None = None,
            min: float | None = None, max: float | None = None):
    """A settings field. ``default`` may be a settings class (a group: its own defaults) or a value.
    ``flag`` replaces the generated flag name (without dashes); on a group it is the prefix of its
    members' flags ("" for none). ``short`` adds a one-letter flag. ``min`` / ``max``: the range a
    number must lie in (both ends included)."""
    meta = {"help": help, "choices": tuple(choices) if choices else None, "flag": flag, "short": short,
            "range": (min, max) if min is not None or max is not None else None}
    if isinstance(default, type) and dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=default, metadata=meta)
    if isinstance(default, (list, dict, set)) or dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@functools.cache
def _hints(cls) -> dict:
    # get_type_hints evaluates the string annotations that `from __future__ import annotations` leaves.
    return typing.get_type_hints(cls)


def _unwrap(tp) -> tuple[object, bool]:
    """(the type without None, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported settings type {tp}")
        return args[0], True
    return tp, False


def _is_group(tp) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _is_str_tuple(tp) -> bool:
    return typing.get_origin(tp) is tuple and typing.get_args(tp) == (str, ...)


def _show(value, quote: bool = True) -> str:
    """A value as YAML would spell it: for error messages (strings quoted) and help."""
    if value is None:
        return "null" if quote else "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return repr(value) if quote and isinstance(value, str) else str(value)


class _Bad(ValueError):
    """A value that does not fit its type; ``build`` adds where it came from."""


def _convert(value, tp, choices, bounds=None, *, text: bool = False):
    """``value`` as type ``tp``; ``text``: it comes from a command line, where every value is a string."""
    base, optional = _unwrap(tp)
    if value is None or (optional and isinstance(value, str) and value.strip().lower() in ("null", "none", "~")):
        if optional:
            return None
        raise _Bad(f"expected {_expected(base, choices, bounds)}, got null")
    if base is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    elif base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _choose(value, choices, base, bounds)
        if isinstance(value, float) and value.is_integer():
            return _choose(int(value), choices, base, bounds)
        if text and isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value) < 40:
            return _choose(int(value), choices, base, bounds)
    elif base is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
        else:
            number = math.nan
        if math.isfinite(number):
            return _choose(number, choices, base, bounds)
    elif base is str:
        if isinstance(value, str):
            return _choose(value, choices, base)
    elif _is_str_tuple(base):
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, (list, tuple)) and all(isinstance(i, str) for i in items):
            return tuple(_choose(i.strip(), choices, str) for i in items if i.strip())
    else:
        raise TypeError(f"unsupported settings type {tp}")
    raise _Bad(f"expected {_expected(base, choices, bounds)}, got {_show(value)}")


def _expected(base, choices, bounds=None) -> str:
    if choices:
        return "one of " + ", ".join(map(str, choices))
    if _is_str_tuple(base):
        return "a list of names (or one comma-separated string)"
    kind = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[base]
    if bounds and base in (int, float):
        low, high = bounds
        kind += (f" from {_num(low)} to {_num(high)}" if low is not None and high is not None
                 else f" of at least {_num(low)}" if low is not None else f" of at most {_num(high)}")
    return kind


def _num(x) -> str:
    return f"{x:,}" if isinstance(x, int) and abs(x) >= 10_000 else f"{x:g}" if isinstance(x, float) else str(x)


def _choose(value, choices, base, bounds=None):
    if choices and value not in choices:
        raise _Bad(f"expected {_expected(base, choices)}, got {_show(value)}")
    if bounds:
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            raise _Bad(f"expected {_expected(base, choices, bounds)}, got {_show(value)}")
    return value


def _leaves(cls, prefix: str = "") -> list[str]:
    """Every dotted key of a settings class, groups opened."""
    out = []
    for f in dataclasses.fields(cls):
        tp = _hints(cls)[f.name]
        out += _leaves(tp, f"{prefix}{f.name}.") if _is_group(tp) else [prefix + f.name]
    return out


def build(cls, mapping: dict, where: str, *, _prefix: str = ""):
    """An instance of ``cls`` from a mapping of settings, each value checked and converted; anything
    wrong raises a FimkitError that names ``where`` (the file) and the dotted key."""
    if not isinstance(mapping, dict):
        raise FimkitError(f"{where}: {_prefix.rstrip('.') or 'settings'}: expected a mapping of settings, got {_show(mapping)}")
    hints = _hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for name, value in mapping.items():
        key = f"{_prefix}{name}"
        if name not in known:
            hint = difflib.get_close_matches(str(name), [*known, *_leaves(cls)], n=1)
            raise FimkitError(f"{where}: {key}: unknown setting"
                              + (f"; did you mean {_prefix}{hint[0]}?" if hint else "")
                              + f" (known{' in ' + _prefix.rstrip('.') if _prefix else ''}: {', '.join(known)})")
        tp = hints[name]
        if _is_group(tp):
            values[name] = build(tp, value, where, _prefix=key + ".")
            continue
        try:
            meta = known[name].metadata
            values[name] = _convert(value, tp, meta.get("choices"), meta.get("range"))
        except _Bad as exc:
            raise FimkitError(f"{where}: {key}: {exc}") from None
    return cls(**values)


def check_url(value: str, flag: str) -> str:
    """A server's base URL from a flag: http or https with a host, or one error line saying so (urllib
    would otherwise fail later with a traceback, or a request with a 500)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FimkitError(f"{flag} {value!r}: expected a server's address such as http://127.0.0.1:5000")
    return value.strip()


def check(obj) -> None:
    """Every field of a settings instance against its type, choices and range: what ``build`` checks
    for files and flags, for an instance a library caller made in code. Call it in ``__post_init__``."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        tp = hints[f.name]
        if _is_group(tp):
            continue  # a group is checked by its own __post_init__
        try:
            _convert(getattr(obj, f.name), tp, f.metadata.get("choices"), f.metadata.get("range"))
        except _Bad as exc:
            raise FimkitError(f"{f.name}: {exc}") from None


def _merge(mapping: dict, overrides: dict) -> dict:
    merged = copy.deepcopy(mapping)
    for key, value in overrides.items():
        *groups, name = key.split(".")
        node = merged
        for group in groups:
            if not isinstance(node.get(group), dict):
                node[group] = {}
            node = node[group]
        node[name] = value
    return merged


def load_settings(cls, path: str | Path | None, overrides: dict | None = None, *, section: str | None = None):
    """Defaults, then the YAML file (its ``section`` mapping when it has one), then ``overrides``
    (dotted keys; None means not given): the last one wins."""
    data: dict = {}
    if path:
        data = read_yaml_mapping(path)
        if section and section in data:
            data = data[section]
        build(cls, data, str(path))  # the file's own mistakes name the file
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    return build(cls, _merge(data, given), "overrides" if path and given else str(path or "settings"))


def to_mapping(obj) -> dict:
    """A settings instance as plain YAML-ready data (groups as mappings, tuples as lists)."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        out[f.name] = to_mapping(value) if dataclasses.is_dataclass(value) else list(value) if isinstance(value, tuple) else value
    return out


def dump_yaml(obj) -> str:
    import yaml

    return yaml.safe_dump(to_mapping(obj), sort_keys=False)


def flatten(mapping: dict, prefix: str = "") -> dict:
    """A nested mapping as dotted keys: {"lora": {"rank": 8}} -> {"lora.rank": 8}."""
    out = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def diff_settings(old: dict, new: dict, *, ignore=(), defaults: dict | None = None) -> dict[str, tuple]:
    """{dotted key: (old, new)} for every setting that differs (a key missing on one side shows as
    "(unset)"), leaving out the keys in ``ignore``. With ``defaults``, a key missing from ``old``
    takes its value there: what a setting added after ``old`` was saved did before it existed."""
    a, b = {**flatten(defaults or {}), **flatten(old)}, flatten(new)
    out = {}
    for key in [*a, *(k for k in b if k not in a)]:
        before, after = a.get(key, _UNSET), b.get(key, _UNSET)
        if key not in ignore and before != after:
            out[key] = tuple("(unset)" if v is _UNSET else v for v in (before, after))
    return out


def flag_type(tp, *, min: float | None = None, max: float | None = None):
    """An argparse ``type`` for a flag that is not a setting (a positional's neighbour, a one-off count),
    checked by the same conversion and range rules as settings."""
    return _flag_type(tp, None, (min, max) if min is not None or max is not None else None)


def _flag_type(tp, choices, bounds=None):
    def parse(text: str):
        try:
            return _convert(text, tp, choices, bounds, text=True)
        except _Bad as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "value"  # argparse names the type in its error message
    return parse


def _metavar(name: str, base, choices) -> str:
    if choices:
        return "|".join(map(str, choices))
    if _is_str_tuple(base):
        return "A,B,..."
    return {int: "N", float: "NUM"}.get(base, name.upper())


def add_flags(parser, cls, *, prefix: str = "", skip=()) -> None:
    """One flag per setting of ``cls`` on ``parser`` (a parser or an argument group), with the dotted
    key as dest and None as default, so that only the flags given override the file. Booleans get
    ``--x/--no-x``. A group gets its own section of the help when ``parser`` is a parser. ``prefix``
    is the dotted key of ``cls`` when it is itself a group of a larger class ("lora"); ``skip``
    lists dotted keys that get no flag."""
    flag_prefix = prefix.replace(".", "-").replace("_", "-") + "-" if prefix else ""
    _add_flags(parser, cls, f"{prefix}." if prefix else "", flag_prefix, skip)


def _add_flags(parser, cls, key_prefix: str, flag_prefix: str, skip) -> None:
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        key, meta, tp = key_prefix + f.name, f.metadata, hints[f.name]
        if key in skip:
            continue
        if _is_group(tp):
            target = parser
            if isinstance(parser, argparse.ArgumentParser):
                target = parser.add_argument_group(f"{meta.get('help', f.name)} (YAML: {key}.*)")
            own = meta.get("flag")
            members = flag_prefix + f.name.replace("_", "-") + "-" if own is None else (f"{own}-" if own else "")
            _add_flags(target, tp, key + ".", members, skip)
            continue
        base, _ = _unwrap(tp)
        choices = meta.get("choices")
        names = ["--" + (meta.get("flag") or flag_prefix + f.name.replace("_", "-"))]
        names += [f"-{meta['short']}"] if meta.get("short") else []
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        help_text = meta.get("help", "")
        if "(default:" not in help_text:  # a help that explains its own default says it better
            help_text += f" (default: {_show(default, quote=False)})"
        help_text = help_text.replace("%", "%%")
        if base is bool:
            parser.add_argument(*names, dest=key, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            # `--max-steps none` would read as "not given": flags take only values, the file can say null.
            parser.add_argument(*names, dest=key, default=None, type=_flag_type(base, choices, meta.get("range")),
                                metavar=_metavar(f.name, base, choices), help=help_text)


def overrides_from_args(args: argparse.Namespace, cls) -> dict:
    """The settings given as flags (dotted key -> value); flags not given are left out."""
    values = vars(args)
    return {key: values[key] for key in _leaves(cls) if values.get(key) is not None}
