"""Settings from values, checked against a dataclass: the one way values become a config.

`typed(cls, values, where)` builds the dataclass `cls` from a mapping, converting each value by its field's type
hint (nested dataclasses are nested mappings; Optional/Union, Literal, tuple, list and dict hints are followed) and
refusing unknown keys, wrong types and non-finite numbers with a one-line SettingError; `where(key)` names the place
of a key (a suite file's line, a CLI option). Every route goes through it:
  - suites' TOML tables and the Python API's keyword arguments: plain values;
  - checkpoints' JSON (`exact=True`): gan-zoo wrote it from the config, so a value of another type (4.0 for an int)
    means the file was edited;
  - command-line text (`apply_overrides` for `--set key=value`, and `-o metric.key=value`): each value is a `Text`,
    parsed by its field's type (a comma list for a tuple, `none` for an Optional) before the same checks.

Configs check their own values in `__post_init__` with `whole`, `number`, `choice`, `text` and `wholes`, so a
value is refused once, where it enters (a --set, a suite file, a checkpoint, Python), with one line naming the
field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterable

from gan_zoo.errors import UserError

Where = Callable[[str], str]


class Text(str):
    """A value typed on a command line: `typed` parses it by its field's type (a str field keeps it as it is)."""


class SettingError(UserError):
    """A key or value a config refuses. `key` is its dotted name, `value` what was given, `wanted` what the field
    takes (None when no field has the name; `near` is then the closest one): what a caller needs to word the error
    its own way (a checkpoint's damaged metadata)."""

    def __init__(self, message: str, key: str, value=None, wanted: str | None = None, near: str | None = None):
        super().__init__(message)
        self.key, self.value, self.wanted, self.near = key, value, wanted, near


def typed(cls: type, values, where: Where = str, prefix: str = "", *, base=None, exact: bool = False):
    """The dataclass `cls` from a mapping of values (or the dataclass itself), each checked against its field's
    type; fields not given keep their value in `base` (by default the class's defaults). Values come from a file,
    Python or, as `Text`, a command line; with `exact`, from a file gan-zoo wrote (types must match as written).
    `where(key)` names the place of a key for an error message."""
    if isinstance(values, cls):
        return values
    if not isinstance(values, dict):
        place = prefix.rstrip(".") or cls.__name__
        raise SettingError(f"{where(place)}: expected a table of settings", place, values, "a table of settings")
    names = [field.name for field in dataclasses.fields(cls)]
    hints = _hints(cls)
    changes = {}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            near = next(iter(difflib.get_close_matches(str(key), names, n=1)), None)
            suggestion = f"did you mean {near!r}? " if near else ""
            raise SettingError(f"{where(dotted)}: no setting {dotted!r}; {suggestion}settings: {', '.join(names)}",
                               dotted, value, near=near)
        changes[key] = _convert(value, hints[key], dotted, where, exact) if key in hints else value
    return dataclasses.replace(cls() if base is None else base, **changes)


def apply_overrides(config, assignments: Iterable[str]):
    """`config` with `key=value` strings (from --set) applied, each value parsed by its field's type."""
    values = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            raise UserError(f"--set {assignment!r}: expected key=value, e.g. --set lr=1e-4")
        values[key.strip()] = Text(value.strip())
    return typed(type(config), values, lambda key: f"--set {key}", base=config)


def _hints(cls: type) -> dict:
    """The fields' type hints. Where a plugin's annotations cannot be evaluated (a name it only imports for type
    checking, say: any exception), those that are real types; the config's own checks see to the others."""
    try:
        return typing.get_type_hints(cls)
    except Exception:
        return {field.name: field.type for field in dataclasses.fields(cls) if isinstance(field.type, type)}


_WANTED = {bool: "true or false", int: "a whole number", float: "a finite number", str: "a string"}
# what command-line text failed to spell; the checks that follow parsing word its range
_SPELLED = {bool: "true or false", int: "an int", float: "a float"}
_NONE_WORDS = ("none", "null")
_BOOL_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _refused(name: str, value, where: Where, wanted: str) -> SettingError:
    return SettingError(f"{where(name)}: {name} takes {wanted}, not {_show(value)}", name, value, wanted)


def _convert(value, hint, name: str, where: Where, exact: bool):
    """`value` as the type `hint` holds it, or a SettingError naming `name`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any:
        return str(value) if isinstance(value, Text) else value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return typed(hint, value, where, f"{name}.", exact=exact)
    if origin in (typing.Union, types.UnionType):
        return _union(value, args, name, where, exact)
    if origin is typing.Literal:
        for allowed in args:  # of the same type: True is not 1
            if str(allowed) == value if isinstance(value, Text) else type(allowed) is type(value) and allowed == value:
                return allowed
        raise _refused(name, value, where, f"one of {', '.join(map(repr, args))}")
    if origin in (tuple, list) or hint in (tuple, list):
        return _sequence(value, origin or hint, args, name, where, exact)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise _refused(name, value, where, "a table")
        return {key: _convert(item, args[1], f"{name}.{key}", where, exact) if args else item
                for key, item in value.items()}
    if hint in _WANTED:
        return _scalar(_parse(value, hint, name, where) if isinstance(value, Text) else value, hint, name, where,
                       exact)
    raise SettingError(f"{where(name)}: {name} cannot be set here (a {_show(hint)} is not a setting's type)", name,
                       value, f"of type {_show(hint)}")


def _union(value, args, name: str, where: Where, exact: bool):
    if type(None) in args and (value is None or isinstance(value, Text) and value.lower() in _NONE_WORDS):
        return None
    refusals = []
    for option in (arg for arg in args if arg is not type(None)):
        try:
            return _convert(value, option, name, where, exact)
        except SettingError as exc:
            refusals.append(exc)
    if len(refusals) == 1:
        raise refusals[0]
    raise _refused(name, value, where, " or ".join(dict.fromkeys(exc.wanted or "a setting" for exc in refusals)))


def _sequence(value, kind: type, args, name: str, where: Where, exact: bool):
    """A tuple or list; command-line text is a comma list."""
    if isinstance(value, Text):
        value = [Text(part.strip()) for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise _refused(name, value, where, "a list")
    if kind is tuple and args and args[-1] is not Ellipsis:  # tuple[int, str]: one type per place
        if len(value) != len(args):
            raise _refused(name, value, where, f"a list of {len(args)}")
        items = [_convert(item, arg, name, where, exact) for item, arg in zip(value, args, strict=True)]
    else:
        items = [_convert(item, args[0], name, where, exact) if args else item for item in value]
    return kind(items)


def _parse(text: Text, hint: type, name: str, where: Where):
    """Command-line text as a plain value for a bool, int, float or str field."""
    if hint is str:
        return str(text)
    if hint is bool and text.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[text.lower()]
    if hint is not bool:
        for kind in (int, float):  # "1e3" for an int: the checks after take a whole float
            try:
                return kind(text)
            except ValueError:
                pass
    raise _refused(name, text, where, _SPELLED[hint])


def _scalar(value, hint: type, name: str, where: Where, exact: bool):
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and _is_whole(value):
        return int(value)
    if hint is int and not exact and isinstance(value, float) and value.is_integer():  # 1e3 in a suite file
        return int(value)
    if hint is float and isinstance(value, numbers.Real) and not isinstance(value, bool) and _is_finite(value):
        return float(value)  # inf and nan are refused: results are strict JSON
    if hint is str and isinstance(value, str):
        return str(value)
    raise _refused(name, value, where, _WANTED[hint])


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


def _is_finite(value: numbers.Real) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond any float
        return False


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
    fits = (isinstance(value, numbers.Real) and not isinstance(value, bool) and _is_finite(value)
            # numbers.Real declares only < and <= (in typeshed as in the ABC), yet every Real compares with a float
            and (low is None or (value > low if low_open else value >= low))  # type: ignore[operator]
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
    items = tuple(value) if isinstance(value, list | tuple) else ()
    fits = bool(items) and all(_is_whole(v) and (low is None or v >= low) and (high is None or v <= high)
                               for v in items)
    if fits and (not increasing or all(a < b for a, b in itertools.pairwise(items))):
        return tuple(int(v) for v in items)
    order = "strictly increasing " if increasing else ""
    raise UserError(f"{name} = {_show(value)}: must be a non-empty list of {order}whole numbers {_bounds(low, high)}"
                    .rstrip())
