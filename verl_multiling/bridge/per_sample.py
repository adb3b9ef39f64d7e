"""Pure helpers of the per-sample bridge: estimator binding, column building, per-language metrics.

Nothing here imports verl's trainer; :mod:`verl_multiling.bridge.trainers` is the adapter.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

# The extra keyword arguments the bridge can pass; an estimator receives those it names explicitly.
PER_SAMPLE_KWARGS = ("reward_extra_info", "global_step", "total_steps")
# reward_extra_info keys naming the query language, in order of preference.
LANGUAGE_KEYS = ("query_lang", "lang")
METRIC_PREFIX = "multiling"
# Registered bridge trainer mode -> the verl mode whose semantics it keeps.
BRIDGE_TRAINER_MODES = {
    "multiling_sync": "sync",
    "multiling_colocate_async": "colocate_async",
    "multiling_separate_async": "separate_async",
}


def accepted_kwargs(fn: Callable) -> tuple[str, ...]:
    """The per-sample kwargs that ``fn`` names in its signature (``**kwargs`` alone does not count).

    >>> def est(token_level_rewards, response_mask, index=None, config=None, global_step=None, **kw): ...
    >>> accepted_kwargs(est)
    ('global_step',)
    """
    target = fn.func if isinstance(fn, functools.partial) else fn
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return ()
    named = {
        n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    return tuple(k for k in PER_SAMPLE_KWARGS if k in named)


@contextmanager
def bound_estimator(registry: MutableMapping[str, Callable], name: str, **extras: Any) -> Iterator[Callable]:
    """Temporarily replace ``registry[name]`` by the estimator with ``extras`` bound as keywords.

    verl's ``compute_advantage`` looks the estimator up by name and calls it with a fixed set of
    keywords; binding is how the per-sample data reaches it without copying verl's code. The
    original entry is restored on exit, also on error.
    """
    original = registry[name]
    bound = functools.partial(original, **extras)
    functools.update_wrapper(bound, original)
    registry[name] = bound
    try:
        yield bound
    finally:
        registry[name] = original


def reward_extra_columns(extra_fields: Sequence[Any]) -> dict[str, np.ndarray]:
    """Turn per-sample ``extra_fields`` dicts into columns of their ``reward_extra_info``.

    A sample missing a key gets None in that column (verl's validation path does the same).

    >>> cols = reward_extra_columns([{"reward_extra_info": {"acc": 1.0}}, {}, {"reward_extra_info": {"acc": 0.0}}])
    >>> cols["acc"].tolist()
    [1.0, None, 0.0]
    """
    infos = [_reward_extra_info(f) for f in extra_fields]
    keys: dict[str, None] = {}
    for info in infos:
        keys.update(dict.fromkeys(info))
    return {k: np.array([info.get(k) for info in infos], dtype=object) for k in keys}


def per_language_metrics(
    columns: Mapping[str, np.ndarray], response_length: np.ndarray, prefix: str = METRIC_PREFIX
) -> dict[str, float]:
    """Per-language means of every numeric reward component and of response length.

    Keys: ``{prefix}/{lang}/{component}`` plus ``{prefix}/{lang}/response_length`` and
    ``{prefix}/{lang}/count``; the language comes from the first of ``LANGUAGE_KEYS`` present
    ("unknown" when it is None). Non-numeric components (strings) are skipped.

    >>> m = per_language_metrics({"lang": np.array(["fr", "fr", "ja"], dtype=object),
    ...                           "acc": np.array([1.0, 0.0, 1.0], dtype=object)}, np.array([10, 20, 30]))
    >>> m["multiling/fr/acc"], m["multiling/fr/response_length"], m["multiling/ja/count"]
    (0.5, 15.0, 1.0)
    """
    n = len(response_length)
    lang_key = next((k for k in LANGUAGE_KEYS if k in columns), None)
    if lang_key is None:
        langs = np.full(n, "all", dtype=object)
    else:
        langs = np.array(["unknown" if v in (None, "") else str(v) for v in columns[lang_key]], dtype=object)
    numeric = {k: v for k, v in ((k, _as_float(col)) for k, col in columns.items()) if v is not None}
    numeric["response_length"] = np.asarray(response_length, dtype=np.float64)
    vocab, inverse = np.unique(langs.astype(str), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(vocab)).astype(np.float64)
    metrics: dict[str, float] = {}
    for key, values in numeric.items():
        valid = ~np.isnan(values)
        sums = np.bincount(inverse, weights=np.where(valid, values, 0.0), minlength=len(vocab))
        seen = np.bincount(inverse, weights=valid.astype(np.float64), minlength=len(vocab))
        for j, lang in enumerate(vocab):
            if seen[j] > 0:
                metrics[f"{prefix}/{lang}/{key}"] = float(sums[j] / seen[j])
    for j, lang in enumerate(vocab):
        metrics[f"{prefix}/{lang}/count"] = float(counts[j])
    return metrics


def _reward_extra_info(extra_field: Any) -> Mapping[str, Any]:
    if isinstance(extra_field, Mapping):
        info = extra_field.get("reward_extra_info")
        if isinstance(info, Mapping):
            return info
    return {}


def _as_float(column: np.ndarray) -> np.ndarray | None:
    """The column as float64 with None -> NaN, or None when a value is not a number (or bool)."""
    out = np.empty(len(column), dtype=np.float64)
    for i, v in enumerate(column):
        if v is None:
            out[i] = np.nan
        elif isinstance(v, (bool, int, float, np.number, np.bool_)):
            out[i] = float(v)
        else:
            return None
    return out
