"""Evaluation of multilingual reasoning on three axes: accuracy, language fidelity, token efficiency.

:mod:`.passk` (unbiased pass@k), :mod:`.metrics` (per-language and overall metrics),
:mod:`.report` (JSON + Markdown), :mod:`.plots` (PNGs), :mod:`.generate` (k samples per question,
resumable), :mod:`.cli` (``verl-multiling eval`` / ``verl-multiling generate``).
"""

from verl_multiling.evaluation.metrics import evaluate_runs, score_samples
from verl_multiling.evaluation.passk import pass_at_k, pass_at_k_mean

__all__ = ["evaluate_runs", "pass_at_k", "pass_at_k_mean", "score_samples"]
