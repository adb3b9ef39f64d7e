"""verl reward functions for the custom-task tests, loaded by path (reward.custom_reward_function.path=file://...).

Each has verl's signature ``(data_source, solution_str, ground_truth, extra_info)``; CALLS counts calls per
function in the process that runs them: a task-function worker process, not the test. So each call is also
written as a JSON line to the file named by ``CUSTOM_TASK_LOG`` when it is set (the tests' ``call_log``).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter

CALLS: Counter[str] = Counter()
SEEN: list[dict] = []


def _log(name: str, **seen) -> None:
    CALLS[name] += 1
    path = os.environ.get("CUSTOM_TASK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"name": name, **seen}, default=str) + "\n")


def always_one(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    _log("always_one")
    return 1.0


def with_parts(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """A dict whose other keys collide (acc, lang_match) or not (f1, pred, flagged), and a numpy number."""
    import numpy as np

    _log("with_parts", data_source=data_source, ground_truth=ground_truth, extra_info=dict(extra_info or {}),
         kwargs=dict(kwargs))
    return {"score": 0.5, "f1": np.float32(0.25), "pred": "x", "acc": 7.0, "lang_match": "theirs", "flagged": True}


def varying_keys(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Only some responses get an 'f1' key; others a 'bleu' key."""
    if "\\boxed{18}" in solution_str:
        return {"score": 1.0, "f1": 1.0}
    return {"score": 0.0, "bleu": 0.5}


def raises(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    _log("raises")
    raise RuntimeError("sandbox unreachable")


def hangs(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    _log("hangs")
    time.sleep(30)
    return 1.0


def returns_none(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    _log("returns_none")
    return None


def returns_text(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return "1.0"


def returns_nan(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return {"score": float("nan"), "f1": 0.0}


def dict_without_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return {"acc": 1.0}


def flaky(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Raises on its first call in this process, then answers 1.0."""
    _log("flaky")
    if CALLS["flaky"] == 1:
        raise ConnectionError("first call fails")
    return 1.0


def scaled(data_source, solution_str, ground_truth, extra_info=None, scale=1.0, **kwargs):
    """Uses a reward_kwargs entry (verl binds reward.custom_reward_function.reward_kwargs)."""
    return 0.25 * scale


async def async_one(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    await asyncio.sleep(0)
    return {"score": 1.0, "async_ok": 1.0}


def spins(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Spins the CPU for ever (a thread running it could never be stopped)."""
    _log("spins")
    while True:
        pass


def exits(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    import sys

    sys.exit(3)


def interrupts(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    raise KeyboardInterrupt


def generator_exit(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    raise GeneratorExit


def huge_float(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return 1e308  # finite in float64, +inf in verl's float32 rewards


def huge_int(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return {"score": 10**400}  # no float holds it


def spins_on_spin(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Spins when data_source is 'spin', else answers 1.0 (a benchmark's mix of normal and runaway calls)."""
    while data_source == "spin":
        pass
    return 1.0


#: what ``scripted`` returns for "value:<key>" (the property test's pool of Python values)
def _values():
    import fractions
    import decimal

    import numpy as np

    def gen():
        yield 1

    class Weird:
        def __float__(self):
            raise RuntimeError("no float")

        def __repr__(self):
            raise RuntimeError("no repr")

    return {
        "one": 1.0, "zero": 0, "true": True, "half_np": np.float32(0.5), "none": None, "text": "1.0", "bytes": b"1",
        "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "1e308": 1e308, "-1e308": -1e308,
        "10**400": 10**400, "np_inf": np.float64("inf"), "np_1e308": np.float64(1e308), "list": [1.0],
        "tuple": (1,), "set": {1}, "decimal": decimal.Decimal("1"), "fraction_huge": fractions.Fraction(10**400, 3),
        "complex": 1j, "generator": gen(), "object": object(), "weird": Weird(), "array": np.array([1.0, 2.0]),
        "array0": np.array(0.25), "dict_ok": {"score": 0.5, "f1": 0.25}, "dict_inf": {"score": float("inf")},
        "dict_big": {"score": 10**400}, "dict_none": {"score": None}, "dict_no_score": {"f1": 1.0},
        "dict_weird_extra": {"score": 1.0, "w": Weird(), 3: "int key", "nested": {"a": [1]}},
        "dict_bad_score": {"score": Weird()}, "lambda": (lambda: 1.0),
    }


def scripted(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Behaves as ``data_source`` says: 'value:<key>' returns _values()[key]; 'raise', 'exit', 'interrupt',
    'generator_exit', 'base', 'os_exit', 'hang', 'spin' do what they say."""
    import os
    import sys

    kind, _, key = str(data_source).partition(":")
    if kind == "value":
        return _values()[key]
    if kind == "raise":
        raise ValueError("scripted failure")
    if kind == "exit":
        sys.exit(3)
    if kind == "interrupt":
        raise KeyboardInterrupt
    if kind == "generator_exit":
        raise GeneratorExit
    if kind == "base":
        class Custom(BaseException):
            pass

        raise Custom("a BaseException of the user's own")
    if kind == "os_exit":
        os._exit(3)
    if kind == "hang":
        time.sleep(60)
    while kind == "spin":
        pass
    return 1.0
