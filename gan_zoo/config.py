"""Settings from plain values (TOML tables, JSON, Python keyword arguments), checked against a dataclass.

`typed(cls, values, where)` builds the dataclass `cls` from a mapping, converting each value by the field's type
hint (nested dataclasses are nested mappings) and refusing unknown keys, wrong types and non-finite numbers;
`where(key)` names the place of a key for the one-line error (a suite file's line, a CLI option).
"""

from __future__ import annotations

import dataclasses
import math
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
