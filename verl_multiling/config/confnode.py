"""Reading optional keys from a config node: an OmegaConf DictConfig, a plain dict or an object."""

from __future__ import annotations

import re
from typing import Any

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def node_get(node: Any, key: str, default: Any) -> Any:
    """``node[key]``, or ``default`` when the node is None or the key is missing or null.

    >>> node_get({"a": 1, "b": None}, "a", 0), node_get({"b": None}, "b", 2), node_get(None, "c", 3)
    (1, 2, 3)
    """
    if node is None:
        return default
    getter = getattr(node, "get", None)
    value = getter(key, default) if getter is not None else getattr(node, key, default)
    return default if value is None else value


def check_device(value: Any, path: str) -> str:
    """A torch device name we accept: auto, cpu, cuda or cuda:N; anything else names the field.

    >>> check_device("cuda:1", "x.device")
    'cuda:1'
    >>> check_device("gpu", "x.device")
    Traceback (most recent call last):
    ...
    ValueError: x.device='gpu': choose auto, cpu, cuda or cuda:N
    """
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise ValueError(f"{path}={value!r}: choose auto, cpu, cuda or cuda:N")
    return value
