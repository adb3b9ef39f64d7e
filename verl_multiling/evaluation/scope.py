r"""Which part of a response the language-fidelity metrics read (``verl-multiling eval --fidelity-scope``).

For a response ``y`` whose first ``</think>`` splits it into ``y = t + "</think>" + a``:

``all``     ``y`` itself (our default: every line the model wrote, reasoning and answer, must be in the
            query language).
``think``   ``t`` without its ``<think>`` tags; the empty text when ``y`` has no ``</think>``. This is the
            authors' scope (dayeonki/adamame, ``3_eval/metrics.py``: fidelity is scored on the reasoning
            trace before ``</think>``, and a response without ``</think>`` has an empty trace), so an
            evaluation in this scope can stand beside the paper's tables. An empty text has no line in
            another language and no foreign word: it passes LPR and WPR and has code-switch rate 0. A model
            that never closes ``</think>`` therefore gets perfect fidelity in this scope, whatever language
            it writes in, which is why it is not our default.
``answer``  ``a``; the whole ``y`` when it has no ``</think>`` (as the authors' "response" part).
"""

from __future__ import annotations

__all__ = ["SCOPES", "fidelity_text"]

SCOPES: tuple[str, ...] = ("all", "think", "answer")
_CLOSE = "</think>"


def fidelity_text(response: str, scope: str = "all") -> str:
    """The part of ``response`` that ``scope`` scores (see the module docstring).

    >>> fidelity_text("<think>\\nJe calcule.\\n</think>\\nThe answer is 5.", "think")
    'Je calcule.'
    >>> fidelity_text("The answer is 5.", "think"), fidelity_text("The answer is 5.", "answer")
    ('', 'The answer is 5.')

    Raises:
        ValueError: an unknown scope (the message lists the valid ones).
    """
    if scope not in SCOPES:
        raise ValueError(f"--fidelity-scope must be one of {list(SCOPES)}, got {scope!r}")
    text = response if isinstance(response, str) else ""
    if scope == "all":
        return text
    head, closed, tail = text.partition(_CLOSE)
    if scope == "think":
        return head.replace("<think>", "").strip() if closed else ""
    return tail.strip() if closed else text.strip()
