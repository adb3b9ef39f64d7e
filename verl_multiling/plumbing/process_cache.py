"""One object per key per process, shared by threads: a model scorer loads once, a client connects once."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def once_per_key(factory: Callable[[K], V]) -> Callable[[K], V]:
    """``factory(key)`` built at most once per key in this process, under a lock, then returned to every caller.

    Unlike ``functools.lru_cache``, two threads asking for the same new key never both run the factory (which
    would load a model twice), and nothing is evicted.

    >>> calls = []
    >>> @once_per_key
    ... def build(key):
    ...     calls.append(key)
    ...     return [key]
    >>> build("a") is build("a"), calls
    (True, ['a'])
    """
    cache: dict[K, V] = {}
    lock = threading.Lock()

    @functools.wraps(factory)
    def get(key: K) -> V:
        with lock:
            if key not in cache:
                cache[key] = factory(key)
            return cache[key]

    return get
