"""``verl-multiling miniature +recipe=NAME``: train a tiny model for real on CPU with the recipe and with plain GRPO.

1. Assets (cached): the task's tokenizer, the recipe's warm start (SFT, :mod:`.warm_start`) and, for PB-RLSVR,
   the English pivot model and its references y_en written by the pivot job.
2. Data: train and held-out parquet files of the toy task (:mod:`.task`, :mod:`.data`).
3. Both arms (:mod:`.arms`) through ``python -m verl.trainer.main_ppo +recipe=NAME`` on the CPU backend, one
   after the other; verl validates on the held-out split before training, every ``eval_every`` steps and at the
   end, and dumps those generations (``trainer.validation_data_dir``).
4. Evaluation of every dump with the evaluation package (:mod:`.figures`), the curves from verl's logged
   metrics, a table, a PNG, and ``--json``.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

from verl_multiling.miniature.arms import ARMS, RunSize, arm_overrides, size_overrides
from verl_multiling.miniature.task import Problem, check_languages, problems
from verl_multiling.miniature.warm_start import SftSettings

MINIATURE_RECIPES = ("adamame", "tapo", "reflection", "pb_rlsvr")
DEFAULT_LANGUAGES = ("en", "fr", "ru", "zh")
"""The default subset (Latin, Cyrillic and Han scripts: a few minutes on 2 cores); ``--languages`` picks others."""

HELDOUT_PER_LANGUAGE = 16
TRAIN_PER_LANGUAGE = 256


class MiniatureError(RuntimeError):
    """The miniature could not run; the message says which argument or which log to look at."""


@dataclass
class MiniatureOptions:
    recipe: str
    overrides: list[str] = field(default_factory=list)
    seed: int = 0
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    size: RunSize = field(default_factory=RunSize)
    sft: SftSettings = field(default_factory=SftSettings)
    arms: tuple[str, ...] = ARMS
    workdir: Path | None = None
    verbose: bool = False
    timeout_s: float | None = None
    parallel: bool = True


def _say(stream: TextIO, text: str) -> None:
    stream.write(f"[miniature] {text}\n")
    stream.flush()


# --- assets ------------------------------------------------------------------------------------------


def warm_start_dir(recipe: str, languages: Sequence[str], seed: int, sft: SftSettings, stream: TextIO) -> Path:
    """The cached warm start of ``recipe`` (built on first use, about a minute on 2 cores)."""
    import zlib

    from verl_multiling.miniature.assets import model_key
    from verl_multiling.miniature.warm_start import build_warm_start
    from verl_multiling.plumbing.offline_tokenizer import atomic_dir, cache_dir

    key = zlib.crc32(repr((model_key(), tuple(languages), asdict(sft))).encode())
    target = cache_dir() / "miniature" / f"warm-{recipe}-s{seed}-{key:08x}"
    if target.is_dir():
        return target
    _say(stream, f"building the {recipe} warm start: SFT of a tiny Qwen2 for {sft.steps} steps (cached in {target})")
    started = time.perf_counter()
    last = [started]

    def progress(step: int, loss: float) -> None:
        if step == sft.steps or time.perf_counter() - last[0] > 15:
            last[0] = time.perf_counter()
            _say(stream, f"  SFT step {step}/{sft.steps} loss {loss:.3f} ({last[0] - started:.0f} s)")

    return atomic_dir(target, lambda out: build_warm_start(recipe, languages, seed, out, sft, progress))


def pivot_references(items: Sequence[Problem], seed: int, sft: SftSettings, work: Path, stream: TextIO) -> dict:
    """y_en for each problem: the pivot job (``generate_pivot_references``) run with the English pivot model on
    the problems' English questions; returns ``{uid: y_en}``."""
    import pandas as pd

    from verl_multiling.miniature.data import write_parquet

    pivot_model = warm_start_dir("pivot", ("en",), seed, sft, stream)
    english = [Problem("en", p.a, p.b, p.op, p.obj, p.frame) for p in items]
    source = write_parquet(english, work / "pivot_input.parquet")
    out = work / "pivot_output.parquet"
    if not out.is_file():
        from verl_multiling.jobs.pivot_generation import main as pivot_main

        _say(stream, f"pivot job: {len(english)} English questions -> y_en with the pivot model")
        code = pivot_main(["--input", str(source), "--output", str(out), "--model", str(pivot_model),
                           "--backend", "transformers", "--max-new-tokens", "96", "--temperature", "0",
                           "--work-dir", str(work / "pivot_work"), "--no-progress", "--template", "{question}"])
        if code != 0:
            raise MiniatureError(f"the pivot job failed (exit {code}); see its output above")
    frame = pd.read_parquet(out)
    by_question = {row["prompt"][0]["content"]: row["pivot_response"] for _, row in frame.iterrows()}
    return {p.uid: by_question[p.question_en] for p in items}


# --- one arm -----------------------------------------------------------------------------------------


def run_arm(arm: str, opts: MiniatureOptions, model: Path, train: Path, val: Path, work: Path,
            stream: TextIO) -> int:
    """Run one arm's ``main_ppo`` in ``work`` (log, metrics.jsonl, generations/); returns its exit code."""
    from verl_multiling.smoke.overrides import smoke_env, smoke_overrides
    from verl_multiling.smoke.run import run_main_ppo

    work.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.jsonl",):
        (work / stale).unlink(missing_ok=True)
    ray_tmp = Path(tempfile.mkdtemp(prefix="vmm", dir="/tmp"))
    command = [sys.executable, "-m", "verl.trainer.main_ppo", f"+recipe={opts.recipe}",
               *smoke_overrides(model_dir=model, train=train, val=val, workdir=work, steps=opts.size.steps,
                                n=opts.size.n, scripted=None, ray_tmp=ray_tmp),
               *size_overrides(opts.size, opts.languages, work / "generations", opts.seed),
               *opts.overrides, *arm_overrides(arm)]
    (work / "command.txt").write_text(" ".join(command) + "\n", encoding="utf-8")
    env = {**os.environ, **smoke_env(work, threads=1)}
    _say(stream, f"{arm} arm: main_ppo for {opts.size.steps} steps; log {work / 'main_ppo.log'}")
    started = time.perf_counter()
    code = run_main_ppo(command, env, work / "main_ppo.log", stream, opts.verbose, opts.timeout_s, opts.size.steps,
                        label=f"miniature:{arm}")
    _say(stream, f"{arm} arm: exit {code} after {time.perf_counter() - started:.0f} s")
    return code


def run_arms(opts: MiniatureOptions, model: Path, train: Path, val: Path, work: Path, stream: TextIO) -> dict:
    """Run every arm; with ``opts.parallel`` side by side (each on its own local Ray cluster: a main_ppo run keeps
    about one core busy, so two share a 2-core machine well), else one after the other. ``{arm: exit code}``."""
    if not opts.parallel or len(opts.arms) == 1:
        return {arm: run_arm(arm, opts, model, train, val, work / arm, stream) for arm in opts.arms}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(opts.arms)) as pool:
        futures = {arm: pool.submit(run_arm, arm, opts, model, train, val, work / arm, stream) for arm in opts.arms}
        return {arm: future.result() for arm, future in futures.items()}


# --- reading an arm back -----------------------------------------------------------------------------

_USER = re.compile(r"user\n(.*?)(?:<\|im_end\|>|\nassistant\n|$)", re.S)


def generation_records(dump: Path, heldout: dict[str, Problem], pivots: dict[str, str] | None) -> list[dict]:
    """Records of ``verl-multiling eval`` (``id, lang, response, ground_truth, question_en``) from one of
    verl's validation dumps; the question is found in the dumped prompt text."""
    records = []
    for line in dump.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        match = _USER.search(row["input"])
        text = match.group(1).strip() if match else row["input"]
        problem = heldout.get(text) or next((p for q, p in heldout.items() if q in row["input"]), None)
        if problem is None:
            raise MiniatureError(f"{dump}: a validation prompt that is not a held-out question: {row['input'][:80]!r}")
        record = {"id": problem.uid, "lang": problem.lang, "response": row["output"],
                  "ground_truth": str(problem.answer), "question_en": problem.question_en}
        if pivots is not None:
            record["pivot_response"] = pivots[problem.uid]
        records.append(record)
    return records


def curve(metrics: list[dict], evals: dict[int, dict]) -> list[dict]:
    """``[{"step", "metrics"}]``: what verl logged at each training step, plus the held-out figures (mean over
    languages, ``heldout/<figure>``) at the steps verl validated."""
    from verl_multiling.miniature.figures import FIGURES, mean_over

    rows = {m["step"]: dict(m["metrics"]) for m in metrics}
    for step, per_lang in evals.items():
        target = rows.setdefault(step, {})
        non_en = [lang for lang in per_lang if lang != "en"]
        for figure in FIGURES:
            value = mean_over(per_lang, figure)
            if value is not None:
                target[f"heldout/{figure}"] = value
            value = mean_over(per_lang, figure, non_en)
            if value is not None:
                target[f"heldout/{figure}_non_en"] = value
    return [{"step": k, "metrics": rows[k]} for k in sorted(rows)]


def read_arm(work: Path, recipe: str, heldout: dict[str, Problem], pivots: dict | None) -> dict:
    """``{"start", "end", "curve", "evals"}`` of one finished arm."""
    from verl_multiling.miniature.figures import per_language
    from verl_multiling.smoke.run import read_metrics

    dumps = sorted((work / "generations").glob("*.jsonl"), key=lambda p: int(p.stem))
    if not dumps:
        raise MiniatureError(f"{work}: verl wrote no validation generations; see {work / 'main_ppo.log'}")
    evals = {}
    for dump in dumps:
        records = generation_records(dump, heldout, pivots)
        (work / "eval").mkdir(exist_ok=True)
        with open(work / "eval" / f"step_{dump.stem}.jsonl", "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(dict(r, run=f"{work.name}_step{dump.stem}"), ensure_ascii=False) + "\n")
        evals[int(dump.stem)] = per_language(records, recipe)
    steps = sorted(evals)
    return {"start": evals[steps[0]], "end": evals[steps[-1]], "curve": curve(read_metrics(work / "metrics.jsonl"),
                                                                                evals),
            "eval_steps": steps}


# --- the command -------------------------------------------------------------------------------------


def prepare(opts: MiniatureOptions, work: Path, stream: TextIO) -> tuple[Path, Path, Path, dict, dict | None]:
    """(warm-start model, train parquet, held-out parquet, held-out problems by question, pivots by uid)."""
    from verl_multiling.miniature.data import write_parquet

    started = time.perf_counter()
    model = warm_start_dir(opts.recipe, opts.languages, opts.seed, opts.sft, stream)
    train_items = problems("train", opts.languages, TRAIN_PER_LANGUAGE, opts.seed)
    held_items = problems("heldout", opts.languages, HELDOUT_PER_LANGUAGE, opts.seed)
    pivots = None
    if opts.recipe == "pb_rlsvr":
        pivots = pivot_references(train_items + held_items, opts.seed, opts.sft, work / "pivot", stream)
    train = write_parquet(train_items, work / "data" / "train.parquet", pivots)
    val = write_parquet(held_items, work / "data" / "heldout.parquet", pivots)
    _say(stream, f"assets ready in {time.perf_counter() - started:.0f} s: warm start {model}; "
                 f"{len(train_items)} train / {len(held_items)} held-out problems in {','.join(opts.languages)}")
    return model, train, val, {p.question: p for p in held_items}, pivots


def run_miniature(opts: MiniatureOptions, json_path: str | None = None, stream: TextIO = sys.stdout) -> int:
    from verl_multiling.miniature.report import print_table, write_plot

    if opts.recipe not in MINIATURE_RECIPES:
        raise MiniatureError(f"+recipe={opts.recipe}: the miniature covers {', '.join(MINIATURE_RECIPES)}")
    opts.languages = check_languages(opts.languages)
    work = Path(opts.workdir) if opts.workdir else Path(tempfile.mkdtemp(prefix=f"miniature-{opts.recipe}-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, train, val, heldout, pivots = prepare(opts, work, stream)
    codes = run_arms(opts, model, train, val, work, stream)
    arms = {}
    for arm, code in codes.items():
        if code != 0:
            tail = (work / arm / "main_ppo.log").read_text(encoding="utf-8", errors="replace").splitlines()[-60:]
            stream.write("\n".join(tail) + "\n")
            _say(stream, f"FAILED: the {arm} arm's main_ppo exited {code}; full log {work / arm / 'main_ppo.log'}")
            return code or 1
        arms[arm] = read_arm(work / arm, opts.recipe, heldout, pivots)
    result = {"recipe": opts.recipe, "seed": opts.seed, "steps": opts.size.steps, "languages": list(opts.languages),
              "arms": arms, "workdir": str(work), "wall_s": round(time.perf_counter() - started, 1),
              "size": asdict(opts.size), "sft": asdict(opts.sft), "overrides": opts.overrides}
    (work / "result.json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print_table(result, stream)
    plot = write_plot(result, work / "curves.png")
    _say(stream, f"done in {result['wall_s']:.0f} s; curves {plot}; generations per step in {work}/<arm>/eval/ "
                 f"(`verl-multiling eval {work}/recipe/eval/*.jsonl --out DIR` re-scores them)")
    return 0
