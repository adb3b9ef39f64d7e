"""The interface every translation-quality scorer implements (chrF, COMET, the batching and guarded
wrappers). A module of its own so that :mod:`verl_multiling.scorers.comet` can implement it without
importing :mod:`verl_multiling.scorers.translation`, which builds a COMET scorer on demand.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from verl_multiling.config.faults import Outcome

__all__ = ["TranslationScorer"]


class TranslationScorer(ABC):
    """Scores in [0, 1], one per hypothesis; ``references``/``sources`` are required when
    ``needs_reference``/``needs_source``."""

    name: str = ""
    needs_reference: bool = True
    needs_source: bool = False

    @abstractmethod
    def score(self, hypotheses: Sequence[str], references: Sequence[str] | None = None,
              sources: Sequence[str] | None = None) -> list[float]: ...

    def score_outcome(self, hypotheses: Sequence[str], references: Sequence[str] | None = None,
                      sources: Sequence[str] | None = None) -> Outcome[list[float]]:
        """``score`` with how it went: retries spent and whether the fallback scored it (see
        :mod:`verl_multiling.config.faults`; plain scorers never retry nor fall back)."""
        return Outcome(self.score(hypotheses, references, sources))

    def check_inputs(self, hypotheses, references, sources) -> None:
        n = len(hypotheses)
        for label, values, needed in (("references", references, self.needs_reference),
                                      ("sources", sources, self.needs_source)):
            if needed and (values is None or len(values) != n):
                got = "none" if values is None else str(len(values))
                raise ValueError(f"{self.name}: {n} hypotheses need {n} {label}, got {got}")
