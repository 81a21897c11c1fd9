"""Settings from plain values (TOML tables, JSON, Python keyword arguments), checked against a dataclass.

`typed(cls, values, where)` builds the dataclass `cls` from a mapping, converting each value by the field's type
hint (nested dataclasses are nested mappings) and refusing unknown keys, wrong types and non-finite numbers;
`where(key)` names the place of a key for the one-line error (a suite file's line, a CLI option).

Configs check their own values in `__post_init__` with `whole`, `number`, `choice`, `text` and `wholes`, so a
value is refused once, where it enters (a --set, a suite file, a checkpoint, Python), with one line naming the
field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import types
import typing

from gan_zoo.errors import UserError


def typed(cls: type, values: dict, where, prefix: str = ""):
    """A dataclass from plain values (or the dataclass itself), checked against its field types (nested
    dataclasses are sub-tables).

    `where(key)` names the place of a key for an error message.
    """
    if isinstance(values, cls):
        return values
    if not isinstance(values, dict):
        raise UserError(f"{where(prefix or cls.__name__)}: expected a table of settings")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in hints:
            raise UserError(f"{where(dotted)}: no setting {dotted!r}; settings: {', '.join(names)}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            changes[key] = typed(hint, value, where, f"{dotted}.")
        else:
            changes[key] = _convert(value, hint, where(dotted), dotted)
    return dataclasses.replace(cls(), **changes)


def _convert(value, hint, where, name):
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), where, name)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise UserError(f"{where}: {name} takes a list, e.g. {name} = [...]")
        return tuple(_convert(v, args[0], where, name) for v in value)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and not isinstance(value, bool) and isinstance(value, int | float) and float(value).is_integer():
        return int(value)
    if hint is float and not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value):
        return float(value)  # inf and nan are refused: results are strict JSON
    if hint is str and isinstance(value, str):
        return value
    if hint not in (bool, int, float, str):
        raise UserError(f"{where}: {name} cannot be set here")
    kind = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}[hint]
    raise UserError(f"{where}: {name} takes {kind}, not {value!r}")


# -- range checks for a config's __post_init__ ---------------------------------------------------------------
# Each returns the value normalised (an int, a float, a tuple) or raises a one-line UserError naming the field,
# the value and what is allowed, e.g. "width = 0: must be a whole number >= 1".

def _show(value) -> str:
    """A value for a one-line message: its repr on one line, cut short."""
    shown = repr(value).replace("\n", " ")
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _bound(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _bounds(low, high, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        if not (low_open or high_open):
            return f"from {_bound(low)} to {_bound(high)}"
        return f"in {'(' if low_open else '['}{_bound(low)}, {_bound(high)}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {_bound(low)}"
    if high is not None:
        return f"{'<' if high_open else '<='} {_bound(high)}"
    return ""


def _is_whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def whole(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """An int (not a bool) in [low, high]."""
    if _is_whole(value) and (low is None or value >= low) and (high is None or value <= high):
        return int(value)
    raise UserError(f"{name} = {_show(value)}: must be a whole number {_bounds(low, high)}".rstrip())


def number(name: str, value, low: float | None = None, high: float | None = None, *, low_open: bool = False,
           high_open: bool = False) -> float:
    """A finite float (an int is taken as one; a bool is not) between low and high, each bound open or closed."""
    fits = (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and (low is None or (value > low if low_open else value >= low))
            and (high is None or (value < high if high_open else value <= high)))
    if fits:
        return float(value)
    allowed = _bounds(low, high, low_open, high_open)
    raise UserError(f"{name} = {_show(value)}: must be a finite number {allowed}".rstrip())


def choice(name: str, value, choices: typing.Sequence[str]) -> str:
    """One of a fixed set of strings (the wording the CLI has always used for them)."""
    if isinstance(value, str) and value in choices:
        return value
    raise UserError(f"{name} must be one of {', '.join(choices)}, not {_show(value)}")


def text(name: str, value) -> str:
    """A non-empty string (a name checked later against a registry, say)."""
    if isinstance(value, str) and value.strip():
        return value
    raise UserError(f"{name} = {_show(value)}: must be a non-empty string")


def wholes(name: str, value, low: int | None = None, high: int | None = None, increasing: bool = False
           ) -> tuple[int, ...]:
    """A non-empty tuple (or list) of ints in [low, high]; with increasing, strictly increasing."""
    items = tuple(value) if isinstance(value, list | tuple) else None
    fits = bool(items) and all(_is_whole(v) and (low is None or v >= low) and (high is None or v <= high)
                               for v in items)
    if fits and (not increasing or all(a < b for a, b in itertools.pairwise(items))):
        return tuple(int(v) for v in items)
    order = "strictly increasing " if increasing else ""
    raise UserError(f"{name} = {_show(value)}: must be a non-empty list of {order}whole numbers {_bounds(low, high)}"
                    .rstrip())
