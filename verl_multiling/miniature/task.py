r"""The miniature's toy task: one-step arithmetic word problems in MGSM's 11 languages, generated offline.

A problem is (a, b, op, object, frame): ``a`` in 10..89, ``b`` in 1..9, op ``plus`` (units digit of a + b
below 10: no carry) or ``minus`` (b at most a's units digit: no borrow), so the answer c = a ± b changes only
a's units digit by a one-digit fact. A tiny model can learn that rule from a few thousand examples and apply it
to pairs it never saw, which is what the held-out split asks of it:

* **train**: frames 0, 1, 3 and 4, every (a, b, op) whose hash bucket is not held out;
* **held-out**: frame 2 (a sentence the model never saw in training) and the held-out (a, b, op) buckets.

Each problem has its English version (TAPO's translation reference, PB-RLSVR's pivot input) and its gold
answer c.

>>> p = Problem(lang="fr", a=23, b=4, op="plus", obj=0, frame=0)
>>> p.question
'Un panier contient 23 livres. Ensuite, on ajoute 4 livres de plus. Combien de livres y a-t-il maintenant ?'
>>> p.question_en
'A basket holds 23 apples. Then 4 more apples are added. How many apples are there now?'
>>> p.answer, p.reasoning("fr")
(27, 'Nous ajoutons 4 à 23. 23 plus 4 font 27. Donc la réponse est \\boxed{27}.')
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from verl_multiling.miniature.templates import (FRAMES, JOINER, LANGUAGES, OBJECTS, OPERATIONS, OPS, QUESTION,
                                                REASONING)

TRAIN_FRAMES = (0, 1, 3, 4)
HELDOUT_FRAMES = (2,)
HELDOUT_BUCKETS = 5  # one (a, b, op) in 5 is held out


@dataclass(frozen=True)
class Problem:
    """One word problem; ``lang`` is the query language ℓ_q."""

    lang: str
    a: int
    b: int
    op: str
    obj: int
    frame: int

    @property
    def answer(self) -> int:
        return self.a + self.b if self.op == "plus" else self.a - self.b

    def question_in(self, lang: str) -> str:
        obj = OBJECTS[lang][self.obj]
        parts = (FRAMES[lang][self.frame], OPS[lang][self.op], QUESTION[lang])
        return JOINER.get(lang, " ").join(p.format(a=self.a, b=self.b, obj=obj) for p in parts)

    @property
    def question(self) -> str:
        return self.question_in(self.lang)

    @property
    def question_en(self) -> str:
        return self.question_in("en")

    def reasoning(self, lang: str) -> str:
        """The correct reasoning, written in ``lang``, ending in ``\\boxed{answer}``."""
        return REASONING[lang][self.op].format(a=self.a, b=self.b, c=self.answer)

    @property
    def uid(self) -> str:
        return f"{self.lang}-{self.op}-{self.a}-{self.b}-{self.obj}-{self.frame}"


def number_pairs(op: str) -> list[tuple[int, int]]:
    """Every (a, b) of the task for one operation (no carry, no borrow, result >= 10)."""
    pairs = []
    for a in range(10, 90):
        for b in range(1, 10):
            if op == "plus" and a % 10 + b <= 9:
                pairs.append((a, b))
            if op == "minus" and b <= a % 10:
                pairs.append((a, b))
    return pairs


def is_heldout_pair(a: int, b: int, op: str) -> bool:
    """A fixed, seed-independent split of the numbers: about one (a, b, op) in :data:`HELDOUT_BUCKETS`."""
    return zlib.crc32(f"{op}:{a}:{b}".encode()) % HELDOUT_BUCKETS == 0


def check_languages(languages: Sequence[str]) -> tuple[str, ...]:
    """The requested languages in a fixed order; unknown codes are an error naming the choices."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise ValueError(f"--languages: {', '.join(unknown) or '(none)'} not in the miniature task; choose from "
                         f"{','.join(LANGUAGES)}")
    return tuple(lang for lang in LANGUAGES if lang in set(languages))


def problems(split: str, languages: Sequence[str], per_language: int, seed: int) -> list[Problem]:
    """``per_language`` problems of ``split`` ("train" or "heldout") in each language, drawn with ``seed``.

    Operations alternate so each language gets as many plus as minus problems (±1).
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}")
    heldout = split == "heldout"
    frames = HELDOUT_FRAMES if heldout else TRAIN_FRAMES
    rng = random.Random(f"{seed}:{split}")
    pools = {op: [p for p in number_pairs(op) if is_heldout_pair(*p, op) == heldout] for op in OPERATIONS}
    out = []
    for lang in check_languages(languages):
        for k in range(per_language):
            op = OPERATIONS[k % 2]
            a, b = rng.choice(pools[op])
            out.append(Problem(lang=lang, a=a, b=b, op=op, obj=rng.randrange(2), frame=rng.choice(frames)))
    return out


def iter_texts(languages: Sequence[str] = LANGUAGES) -> Iterator[str]:
    """Every sentence shape of the task (for training the tokenizer), with sample numbers."""
    for lang in languages:
        for op in OPERATIONS:
            for frame in range(len(FRAMES[lang])):
                for obj in range(2):
                    yield Problem(lang, 47, 2, op, obj, frame).question
            yield Problem(lang, 47, 2, op, 0, 0).reasoning(lang)
