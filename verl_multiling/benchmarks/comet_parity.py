"""COMET parity: our COMET loader against unbabel-comet 2.2.7 (the ``translation`` COMET row of the versus_verl
table; the GPU row in :mod:`.gpu` reuses :func:`comet_compare`).

Our ``verl_multiling.scorers.comet.CometScorer`` against unbabel-comet's ``load_from_checkpoint`` + ``predict`` on
CPU, the same small random checkpoint built offline by ``build_random_checkpoint`` and the same segments, one
torch thread each, segments/s (largest score difference in the note). unbabel-comet cannot live beside verl
(it pins transformers<5 and numpy<2), so it runs in its own environment: the Python named by
``VERL_MULTILING_COMET_PYTHON``, by default ``.venv-comet/bin/python`` under the current directory, which
``bash scripts/setup_comet_env.sh`` builds in a checkout of this repository. Without it the row says
"skipped" and why.

Not an area of its own: a section of the versus_verl area.

    bash scripts/setup_comet_env.sh      # once, in the repository checkout
    python -m verl_multiling.benchmarks versus_verl --only translation
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from verl_multiling.benchmarks.common import error_text, fmt_rate, fmt_ratio, interleaved_rounds, log
from verl_multiling.benchmarks.tapo import translation_segments

COMET_PYTHON_ENV = "VERL_MULTILING_COMET_PYTHON"


def comet_python() -> str:
    """The Python of unbabel-comet's environment: ``$VERL_MULTILING_COMET_PYTHON``, else
    ``.venv-comet/bin/python`` under the current directory (as an absolute path)."""
    return os.environ.get(COMET_PYTHON_ENV) or os.path.abspath(os.path.join(".venv-comet", "bin", "python"))


def comet_missing() -> str | None:
    """None when unbabel-comet's Python exists; else what is missing and what to run."""
    path = comet_python()
    if os.path.exists(path):
        return None
    return (f"unbabel-comet's venv is not at {path} (run `bash scripts/setup_comet_env.sh` in the repository "
            f"checkout and start the benchmark there, or set {COMET_PYTHON_ENV} to that venv's python)")


# unbabel-comet in its own venv: loads the checkpoint, then scores set k each time a line "k" arrives on stdin,
# answering "@@T <seconds> <json scores>"; run in .venv-comet (transformers 4.x), one torch thread.
COMET_WORKER = r"""
import json, sys, time, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import torch
job = json.load(open(sys.argv[1]))
torch.set_num_threads(job["threads"])
from comet import load_from_checkpoint
t0 = time.perf_counter()
model = load_from_checkpoint(job["checkpoint"], local_files_only=True)
print("@@READY %.3f" % (time.perf_counter() - t0), flush=True)
for line in sys.stdin:
    line = line.strip()
    if line == "quit":
        break
    rows = job["sets"][int(line)]
    t0 = time.perf_counter()
    scores = model.predict(rows, batch_size=job["batch_size"], gpus=job["gpus"], progress_bar=False).scores
    print("@@T %.6f %s" % (time.perf_counter() - t0, json.dumps([float(x) for x in scores])), flush=True)
"""


class UnbabelComet:
    """unbabel-comet running in .venv-comet, driven set by set so its rounds interleave with ours."""

    def __init__(self, checkpoint: Path, sets: list[list[dict]], batch_size: int, gpus: int, threads: int = 1):
        self.job = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"checkpoint": str(checkpoint), "sets": sets, "batch_size": batch_size, "gpus": gpus,
                   "threads": threads}, self.job)
        self.job.close()
        self.err = tempfile.TemporaryFile()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": str(threads),
               "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen([comet_python(), "-c", COMET_WORKER, self.job.name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True, env=env)
        self.load_s = float(self._answer("@@READY")[0])

    def _answer(self, tag: str) -> list[str]:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.err.seek(0)
                raise RuntimeError("unbabel-comet worker died: " + self.err.read().decode(errors="replace")[-1500:])
            if line.startswith(tag):
                return line[len(tag):].strip().split(" ", 1)

    def score(self, k: int) -> tuple[float, list[float]]:
        self.proc.stdin.write(f"{k}\n")
        self.proc.stdin.flush()
        seconds, scores = self._answer("@@T")
        return float(seconds), json.loads(scores)

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
        os.unlink(self.job.name)


def comet_compare(checkpoint: Path, n: int, rounds: int, batch_size: int, device: str, dtype: str,
                  gpus: int, with_unbabel: bool = True) -> dict:
    """Our CometScorer and unbabel-comet on the same checkpoint and the same ``rounds + 1`` sets of n segments
    (set 0 warms up), round-robin; each side's time is its own scoring call (unbabel's includes its
    per-call Lightning trainer, as every ``predict`` pays it)."""
    from verl_multiling.scorers.comet import CometScorer

    sets = [translation_segments(n, seed=50 + k) for k in range(rounds + 1)]
    rows = [[{"src": s, "mt": h, "ref": r} for h, r, s in zip(*x)] for x in sets]
    t0 = time.perf_counter()
    ours = CometScorer(checkpoint, device=device, dtype=dtype, batch_size=batch_size)
    ours_load = time.perf_counter() - t0
    if not with_unbabel:  # ours alone (e.g. unbabel-comet's venv has no CUDA torch)
        def alone(k):
            scores = ours.raw_scores(*sets[k])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            return scores

        t = interleaved_rounds({"ours": alone}, rounds)
        return {"ours_segments_per_s": n / t["ours"]["best_s"], "segments": n, "rounds": rounds,
                "ours_load_s": ours_load, "describe": ours.describe()}
    theirs = UnbabelComet(Path(checkpoint) / "checkpoints" / "model.ckpt", rows, batch_size, gpus)
    try:
        def run_ours(k):
            t = time.perf_counter()
            scores = ours.raw_scores(*sets[k])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            return time.perf_counter() - t, scores

        run_ours(0)
        theirs.score(0)
        t_o, t_t, diff = [], [], 0.0
        for k in range(1, rounds + 1):
            s_o, sc_o = run_ours(k)
            s_t, sc_t = theirs.score(k)
            t_o.append(s_o)
            t_t.append(s_t)
            diff = max(diff, max(abs(a - b) for a, b in zip(sc_o, sc_t)))
    finally:
        theirs.close()
    tokens = sum(len(x) for x in ours._ids(sets[1][0])) / n
    return {"ours_segments_per_s": n / min(t_o), "unbabel_segments_per_s": n / min(t_t),
            "ratio_time": min(t_o) / min(t_t), "max_abs_diff": diff, "segments": n, "rounds": rounds,
            "tokens_per_hypothesis": tokens, "ours_load_s": ours_load, "unbabel_load_s": theirs.load_s,
            "describe": ours.describe()}


def comet_section(args, rows: list, out: dict) -> None:
    case = "COMET (ours) on CPU"
    missing = comet_missing()
    if missing:
        rows.append(("translation", case, "skipped", "unbabel-comet on CPU", "-", f"skipped: {missing}"))
        return
    from verl_multiling.scorers.comet import build_random_checkpoint

    h, layers = args.comet_shape
    with tempfile.TemporaryDirectory(prefix="bench-comet-") as tmp:
        log(f"translation: COMET, building a random {layers} x {h} checkpoint")
        try:
            ckpt = build_random_checkpoint(tmp, hidden_size=h, num_layers=layers, heads=max(1, h // 64),
                                           hidden_sizes=(2 * h, h), vocab_size=2000)
            log(f"translation: COMET ours vs unbabel-comet, {args.comet_segments} segments, {args.rounds} rounds")
            r = comet_compare(ckpt, args.comet_segments, args.rounds, 32, "cpu", "float32", 0)
        except Exception as exc:
            rows.append(("translation", case, "error", "unbabel-comet on CPU", "-", error_text(exc)))
            return
    out.setdefault("translation", {})["comet_cpu"] = r
    rows.append(("translation", f"{case} ({r['describe']})", f"{fmt_rate(r['ours_segments_per_s'])} segments/s",
                 f"{fmt_rate(r['unbabel_segments_per_s'])} segments/s (unbabel-comet 2.2.7 predict, CPU)",
                 f"{fmt_ratio(r['ratio_time'])} time",
                 f"same random checkpoint (built offline) and {r['segments']} segments "
                 f"({r['tokens_per_hypothesis']:.0f} "
                 f"tokens/hyp), batch 32, 1 torch thread each, best of {r['rounds']}; largest |score diff| "
                 f"{r['max_abs_diff']:.1e}; load {r['ours_load_s']:.1f} vs {r['unbabel_load_s']:.1f} s"))
    log(f"  ours {r['ours_segments_per_s']:.1f} seg/s, unbabel-comet {r['unbabel_segments_per_s']:.1f} seg/s")
