"""The two resumable jobs with a deterministic text source instead of a model, for the kill-and-resume tests
(tests/test_resumable_jsonl.py): run in process, or as a subprocess that the test kills with SIGKILL.

    python tests/resumable_jobs_worker.py generate QUESTIONS.jsonl OUT.jsonl SIZE
    python tests/resumable_jobs_worker.py pivot TRAIN.parquet WORK_DIR SIZE

The jobs are the real ones (``evaluation.generate.generate``, ``pivot_generation.run_job``); only the text
comes from :func:`text_for` (multi-byte UTF-8: 2-, 3- and 4-byte characters and U+2028) instead of a
model. The subprocess prints ``start`` before the job and ``batch`` before each batch is written, so the
test can tell a kill during opening/recovery from one during the writes.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

# 2-, 3- and 4-byte UTF-8 characters, and U+2028 (a line separator for str.splitlines, not for JSONL)
ALPHABET = "aé答🙂\u2028z"
PIVOT_TEMPLATE = "{question}"
GENERATE_K = 2


def text_for(seed: str, size: int) -> str:
    """A deterministic text of about ``size`` characters drawn from :data:`ALPHABET`."""
    digest = hashlib.sha1(seed.encode("utf-8")).digest()
    length = max(1, size // 2 + digest[0] * size // 512)
    pattern = "".join(ALPHABET[(byte + i) % len(ALPHABET)] for i, byte in enumerate(digest))
    return seed + " " + (pattern * (length // len(pattern) + 1))[:length]


def _model_time() -> None:
    """In the subprocess: say a batch is coming and take a model's time (10 ms), so kills land all over a run."""
    print("batch", flush=True)
    time.sleep(0.01)


def generate_sampler(size: int, announce: bool = False):
    """A ``sampler`` for :func:`verl_multiling.evaluation.generate.generate`."""
    from verl_multiling.evaluation.generate import _chunks, _record

    def sampler(todo, config, run):
        for chunk in _chunks(todo, config.batch_size):
            if announce:
                _model_time()
            yield [_record(run, q, s, text_for(f"{q['lang']}/{q['id']}/{s}", size), size) for q, s in chunk]

    return sampler


class PivotTextGenerator:
    """A ``Generator`` for :func:`verl_multiling.jobs.pivot_generation.run_job`."""

    def __init__(self, size: int, announce: bool = False):
        self.size, self.announce = size, announce

    def generate(self, prompts, sampling):
        if self.announce:
            _model_time()
        return [text_for(prompt, self.size) for prompt in prompts]


def run_generate(questions: Path, out: Path, size: int, *, batch_size: int = 2, announce: bool = False,
                 repair: bool = False) -> int:
    from verl_multiling.evaluation.generate import GenerationConfig, generate

    config = GenerationConfig(k=GENERATE_K, batch_size=batch_size, backend="transformers")
    return generate(questions, "no-model", out, config, repair=repair, sampler=generate_sampler(size, announce))


def pivot_settings():
    from verl_multiling.jobs.pivot_generation import JobSettings

    return JobSettings(model="deterministic-text", template=PIVOT_TEMPLATE)


def run_pivot(train: Path, work: Path, size: int, *, batch_size: int = 2, announce: bool = False,
              repair: bool = False, merge: bool = False):
    from verl_multiling.jobs.pivot_generation import run_job

    return run_job(train, work.parent / "pivot.parquet", work, pivot_settings(),
                   lambda: PivotTextGenerator(size, announce), batch_size=batch_size, gold_check="keep",
                   merge_output=merge, progress=False, repair=repair)


def main(argv: list[str]) -> int:
    job, data, out, size = argv[0], Path(argv[1]), Path(argv[2]), int(argv[3])
    # imports first: "start" means the job itself starts
    if job == "generate":
        import tqdm  # noqa: F401

        import verl_multiling.evaluation.generate  # noqa: F401
    else:
        import pyarrow.parquet  # noqa: F401

        import verl_multiling.jobs.pivot_generation  # noqa: F401
    print("start", flush=True)
    if job == "generate":
        run_generate(data, out, size, batch_size=2, announce=True)
    else:
        run_pivot(data, out, size, batch_size=2, announce=True)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
