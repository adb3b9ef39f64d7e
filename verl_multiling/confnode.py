"""Reading optional keys from a config node: an OmegaConf DictConfig, a plain dict or an object."""

from __future__ import annotations

from typing import Any


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
