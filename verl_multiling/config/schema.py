"""A small typed schema for config nodes: one declaration per knob, one reader, every error at once.

A :class:`Knob` declares one leaf: its kind (``bool``, ``int``, ``float``, ``str``, ``codes``, ``pairs``,
``any``), default, range, allowed words, whether null is allowed, where its default comes from
(``paper``, ``released`` scripts, or ``ours``) and a line of documentation. A :class:`Node` is a mapping
of names to knobs and sub-nodes. :func:`read` turns a config node (an OmegaConf ``DictConfig``, a dict,
or an object with attributes) into plain Python values with defaults filled in, and collects an error for
every bad value instead of stopping at the first:

- an unknown key names the closest valid key (``bonuss`` -> ``bonus``), whether it came from a YAML or
  from Hydra's ``+key=value``;
- a number is finite (``nan`` and ``inf`` never pass) and inside its declared range, so ``1e308`` is
  refused where it would make a score overflow;
- a bool is ``true``/``false`` (not ``1`` or ``"yes"``), an int is not a bool, a word is one of the choices.

>>> spec = Node("demo", {"bonus": Knob("float", 2.0, "B", low=0.0, high=1e3),
...                      "mode": Knob("str", "step", "how", choices=("step", "contrast"))})
>>> read({"bonus": 3}, spec, "algorithm.demo")
({'bonus': 3.0, 'mode': 'step'}, [])
>>> values, errors = read({"bonuss": 3, "mode": "nan"}, spec, "algorithm.demo")
>>> errors
["algorithm.demo.bonuss: unknown key; did you mean 'bonus'? (the knobs: bonus, mode)", "algorithm.demo.mode='nan': choose one of step, contrast"]
>>> read({"bonus": float("inf")}, spec, "algorithm.demo")[1]
['algorithm.demo.bonus=inf: must be a finite number in [0, 1000]']
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

KINDS = ("bool", "int", "float", "str", "codes", "pairs", "any")
SOURCES = ("paper", "released", "ours", "plugin")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")


class SettingsError(ValueError):
    """One or more knobs are invalid; ``errors`` holds one message per knob, each naming its field."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


@dataclass(frozen=True)
class Knob:
    """One leaf of a config node.

    ``low``/``high`` bound numbers (inclusive unless ``low_open``/``high_open``); ``choices`` lists the words a
    ``str`` knob accepts, and for a ``float`` knob the words it accepts besides numbers (``floor: auto``);
    ``pair_ranges`` bounds the two members of each ``pairs`` item.
    """

    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    source: str = "ours"
    pair_ranges: tuple[tuple[float, float], tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Knob kind {self.kind!r} is not one of {KINDS}")
        if self.source not in SOURCES:
            raise ValueError(f"Knob source {self.source!r} is not one of {SOURCES}")

    def describe(self) -> str:
        """The accepted values in words, e.g. ``a number in (0, 3600]`` or ``one of cosine, linear``."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "str":
            text = f"one of {', '.join(self.choices)}" if self.choices else "a non-empty string"
        elif self.kind == "codes":
            text = "a list of two-letter language codes"
        elif self.kind == "pairs":
            (a_lo, a_hi), (b_lo, b_hi) = self.pair_ranges or ((-math.inf, math.inf),) * 2
            text = f"a list of [x, y] pairs, x in [{_num(a_lo)}, {_num(a_hi)}], y in [{_num(b_lo)}, {_num(b_hi)}]"
        elif self.kind == "any":
            text = "see the description"
        else:
            noun = "an integer" if self.kind == "int" else "a finite number"
            text = f"{noun} {_range(self)}".rstrip()
            if self.choices:
                text += f", or {' or '.join(self.choices)}"
        return text + (", or null" if self.nullable else "")


@dataclass(frozen=True)
class Node:
    """A mapping of knob names to :class:`Knob` or :class:`Node`; unknown keys are errors."""

    doc: str
    fields: dict[str, Knob | Node] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {k: (v.defaults() if isinstance(v, Node) else v.default) for k, v in self.fields.items()}

    def walk(self, prefix: str) -> Iterable[tuple[str, Knob | Node]]:
        """Every (dotted path, knob or node) below this node, depth first, in declaration order."""
        for name, item in self.fields.items():
            path = f"{prefix}.{name}"
            yield path, item
            if isinstance(item, Node):
                yield from item.walk(path)


def keys_of(node: Any) -> list[str] | None:
    """The keys of a mapping-like node (DictConfig, dict, dataclass or object), or None if it has none."""
    if node is None:
        return []
    keys = getattr(node, "keys", None)
    if callable(keys):
        return [str(k) for k in keys()]
    fields = getattr(node, "__dataclass_fields__", None)
    if fields is not None:
        return [k for k in fields if not k.startswith("_")]
    return None


def child(node: Any, key: str) -> Any:
    """``node[key]`` for a DictConfig, dict or object; None when absent."""
    if node is None:
        return None
    getter = getattr(node, "get", None)
    if callable(getter):
        return getter(key, None)
    return getattr(node, key, None)


def read(node: Any, spec: Node, path: str) -> tuple[dict[str, Any], list[str]]:
    """Validate ``node`` against ``spec``: (values with defaults filled, one error message per bad knob).

    A missing or null knob takes its default. A value that fails keeps the default in ``values`` so that the
    caller can go on and report the other errors.
    """
    errors: list[str] = []
    values = _read_node(node, spec, path, errors)
    return values, errors


def load(node: Any, spec: Node, path: str) -> dict[str, Any]:
    """:func:`read`, raising :class:`SettingsError` listing every error."""
    values, errors = read(node, spec, path)
    if errors:
        raise SettingsError(errors)
    return values


def _read_node(node: Any, spec: Node, path: str, errors: list[str]) -> dict[str, Any]:
    keys = keys_of(node)
    if keys is None:
        errors.append(f"{path}={_show(node)}: must be a mapping of {', '.join(spec.fields)}")
        return spec.defaults()
    for key in keys:
        if key not in spec.fields:
            errors.append(unknown_key_message(path, key, spec.fields))
    out: dict[str, Any] = {}
    for name, item in spec.fields.items():
        value = child(node, name) if name in keys else None
        if isinstance(item, Node):
            out[name] = _read_node(value, item, f"{path}.{name}", errors)
        else:
            out[name] = _read_knob(value, item, f"{path}.{name}", errors)
    return out


def split_message(message: str) -> tuple[str, str]:
    """(field, the rest) of an error message that starts with its dotted field.

    >>> split_message("algorithm.adamame.bonus=nan: must be a finite number in [0, 1000]")
    ('algorithm.adamame.bonus', 'got nan: must be a finite number in [0, 1000]')
    >>> split_message("multiling.math.timeout: unknown key; did you mean 'timeout_s'?")
    ('multiling.math.timeout', "unknown key; did you mean 'timeout_s'?")
    >>> split_message("algorithm.adamame.stages=[[0.0, nan]]: give [x, y] pairs")
    ('algorithm.adamame.stages', 'got [[0.0, nan]]: give [x, y] pairs')
    """
    head, sep, rest = message.partition(": ")
    field, eq, value = head.partition("=")
    if not sep or not field or " " in field:
        return "", message
    return field, f"got {value}: {rest}" if eq else rest


def unknown_key_message(path: str, key: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{path}.{key}: unknown key; {hint}(the knobs: {', '.join(known)})"


def _read_knob(value: Any, knob: Knob, path: str, errors: list[str]) -> Any:
    if value is None:
        return knob.default
    try:
        return check_value(value, knob, path)
    except ValueError as exc:
        errors.append(str(exc))
    except Exception as exc:  # a value no rule foresaw: an error naming the knob, never a crash of the reader
        errors.append(f"{path}: reading it raised {type(exc).__name__}: {exc}; must be {knob.describe()}")
    return knob.default


def check_value(value: Any, knob: Knob, path: str) -> Any:
    """The value converted to plain Python (float, int, tuple), or ``ValueError`` naming ``path``."""
    bad = ValueError(f"{path}={_show(value)}: must be {knob.describe()}")
    if knob.kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if knob.kind in ("int", "float"):
        if isinstance(value, str) and knob.choices and value in knob.choices:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or _integer_required(knob, value):
            raise bad
        if not _finite(value) or not _in_range(float(value), knob):
            raise bad
        return int(value) if knob.kind == "int" else float(value)
    if knob.kind == "str":
        if not isinstance(value, str) or not value:
            raise bad
        if knob.choices and value not in knob.choices:
            raise ValueError(f"{path}={value!r}: choose one of {', '.join(knob.choices)}")
        return value
    if knob.kind == "codes":
        items = _sequence(value)
        if items is None or not all(isinstance(x, str) for x in items):
            raise ValueError(f"{path}={_show(value)}: give a list of language codes, e.g. [fr, ja, ko, pt, th]")
        codes = tuple(x.strip().lower() for x in items)
        invalid = [c for c in codes if not _LANGUAGE_CODE.match(c)]
        if invalid:
            raise ValueError(f"{path}: {invalid} are not two-letter ISO 639-1 codes (e.g. fr, ja)")
        return codes
    if knob.kind == "pairs":
        return _pairs(value, knob, path)
    return plain(value)


def _pairs(value: Any, knob: Knob, path: str) -> tuple[tuple[float, float], ...]:
    fix = f"{path}={_show(value)}: give [x, y] pairs of finite numbers, e.g. [[0.0, 0.0], [0.5, 1.0]]"
    items = _sequence(value)
    if items is None or not items:
        raise ValueError(fix)
    out = []
    for item in items:
        pair = _sequence(item)
        if pair is None or len(pair) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, float))
                                                 or not _finite(x) for x in pair):
            raise ValueError(fix)
        out.append((float(pair[0]), float(pair[1])))
    if knob.pair_ranges:
        for (x, y) in out:
            for member, v, (lo, hi) in (("x", x, knob.pair_ranges[0]), ("y", y, knob.pair_ranges[1])):
                if not lo <= v <= hi:
                    raise ValueError(f"{path}: [{_num(x)}, {_num(y)}] has {member}={_num(v)} outside "
                                     f"[{_num(lo)}, {_num(hi)}]")
    return tuple(out)


def _sequence(value: Any) -> list | None:
    """The items of a list-like value; None for a string, a mapping or a scalar."""
    if isinstance(value, (str, bytes)) or keys_of(value) is not None or not hasattr(value, "__iter__"):
        return None
    return list(value)


def plain(value: Any) -> Any:
    """A DictConfig/ListConfig as plain containers, anything else as is."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(value, (DictConfig, ListConfig)):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - OmegaConf ships with verl
        pass
    return value


def _finite(value: int | float) -> bool:
    """A finite number that a float can hold: ``nan``, ``inf`` and integers beyond ~1.8e308 (``10**400``, where
    ``float()`` overflows) are not.

    >>> _finite(3), _finite(float("nan")), _finite(10**400)
    (True, False, False)
    """
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _integer_required(knob: Knob, value: Any) -> bool:
    return knob.kind == "int" and not isinstance(value, int)


def _in_range(value: float, knob: Knob) -> bool:
    if knob.low is not None and (value < knob.low or (knob.low_open and value == knob.low)):
        return False
    if knob.high is not None and (value > knob.high or (knob.high_open and value == knob.high)):
        return False
    return True


def _range(knob: Knob) -> str:
    if knob.low is None and knob.high is None:
        return ""
    if knob.high is None:
        return f"{'>' if knob.low_open else '>='} {_num(knob.low)}"
    if knob.low is None:
        return f"{'<' if knob.high_open else '<='} {_num(knob.high)}"
    return f"in {'(' if knob.low_open else '['}{_num(knob.low)}, {_num(knob.high)}{')' if knob.high_open else ']'}"


def _num(x: float) -> str:
    if x == math.inf or x == -math.inf:
        return "inf" if x > 0 else "-inf"
    return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"  # repr fails past 4300
    text = repr(plain(value))
    return text if len(text) <= 80 else text[:77] + "..."
