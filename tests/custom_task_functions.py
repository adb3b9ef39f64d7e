"""verl reward functions for the custom-task tests, loaded by path (reward.custom_reward_function.path=file://...).

Each has verl's signature ``(data_source, solution_str, ground_truth, extra_info)``; CALLS counts calls per
function in this process (the manager runs in the test process unless a test starts Ray workers).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

CALLS: Counter[str] = Counter()
SEEN: list[dict] = []


def always_one(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    CALLS["always_one"] += 1
    return 1.0


def with_parts(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """A dict whose other keys collide (acc, lang_match) or not (f1, pred, flagged), and a numpy number."""
    import numpy as np

    CALLS["with_parts"] += 1
    SEEN.append({"data_source": data_source, "ground_truth": ground_truth, "extra_info": dict(extra_info or {}),
                 "kwargs": dict(kwargs)})
    return {"score": 0.5, "f1": np.float32(0.25), "pred": "x", "acc": 7.0, "lang_match": "theirs", "flagged": True}


def varying_keys(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Only some responses get an 'f1' key; others a 'bleu' key."""
    if "\\boxed{18}" in solution_str:
        return {"score": 1.0, "f1": 1.0}
    return {"score": 0.0, "bleu": 0.5}


def raises(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    CALLS["raises"] += 1
    raise RuntimeError("sandbox unreachable")


def hangs(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    CALLS["hangs"] += 1
    time.sleep(30)
    return 1.0


def returns_none(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    CALLS["returns_none"] += 1
    return None


def returns_text(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return "1.0"


def returns_nan(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return {"score": float("nan"), "f1": 0.0}


def dict_without_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    return {"acc": 1.0}


def flaky(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """Raises on its first call in this process, then answers 1.0."""
    CALLS["flaky"] += 1
    if CALLS["flaky"] == 1:
        raise ConnectionError("first call fails")
    return 1.0


def scaled(data_source, solution_str, ground_truth, extra_info=None, scale=1.0, **kwargs):
    """Uses a reward_kwargs entry (verl binds reward.custom_reward_function.reward_kwargs)."""
    return 0.25 * scale


async def async_one(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    await asyncio.sleep(0)
    return {"score": 1.0, "async_ok": 1.0}
