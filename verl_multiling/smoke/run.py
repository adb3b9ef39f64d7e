"""Run a recipe's real ``python -m verl.trainer.main_ppo`` for a few steps on CPU and read back its metrics."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from verl_multiling.smoke.overrides import smoke_env, smoke_overrides

DEFAULT_STEPS = 2
LOG_TAIL_LINES = 80


class SmokeError(RuntimeError):
    """The smoke run could not start or main_ppo failed; the message says where to look."""


def split_recipe(overrides: Sequence[str]) -> tuple[str, list[str]]:
    """(recipe name, the other overrides); exactly one ``+recipe=NAME`` is required."""
    recipes = [o for o in overrides if o.lstrip("+").startswith("recipe=")]
    if len(recipes) != 1:
        raise SmokeError("give exactly one +recipe=NAME (see `verl-multiling recipes`), e.g. "
                         "`verl-multiling smoke +recipe=adamame`")
    name = recipes[0].split("=", 1)[1]
    from verl_multiling.plumbing.paths import recipe_names

    if name not in recipe_names():
        raise SmokeError(f"+recipe={name}: no such recipe; choose one of {', '.join(recipe_names())}")
    return name, [o for o in overrides if o is not recipes[0]]


def recipe_data_settings(recipe: str, user_overrides: Sequence[str]) -> tuple[Path, str]:
    """The recipe's bundled rollouts (``multiling.preflight_rollouts`` or the default) and its language column."""
    from verl_multiling.preflight.compose import compose_config
    from verl_multiling.preflight.rollouts import BUNDLED_ROLLOUTS
    from verl_multiling.preflight.run import recipe_rollouts

    cfg = compose_config([f"+recipe={recipe}", *user_overrides])
    rollouts = recipe_rollouts(cfg) or str(BUNDLED_ROLLOUTS)
    lang_key = str((cfg.get("multiling") or {}).get("lang_key", "lang"))
    return Path(rollouts), lang_key


def read_metrics(path: Path) -> list[dict]:
    """verl's file logger output as ``[{"step": k, "metrics": {...}}]``, one entry per logged step.

    verl may log one step in several calls; they are merged. A torn last line (a killed run) is skipped.
    """
    steps: dict[int, dict] = {}
    if not path.is_file():
        return []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        steps.setdefault(int(row["step"]), {}).update(row.get("data") or {})
    return [{"step": k, "metrics": steps[k]} for k in sorted(steps)]


_STEP_LINE = re.compile(r"(?:^|\s)step:(\d+) - ")


def run_main_ppo(command: list[str], env: dict[str, str], log_path: Path, stream: TextIO, verbose: bool,
                 timeout_s: float | None, steps: int, label: str = "smoke") -> int:
    """Run main_ppo in its own process group, log everything to ``log_path``, show step progress.

    verl prints one ``step:K - metric:value ...`` line per step (behind Ray's ``(TaskRunnerV1 pid=...)`` prefix
    when the trainer runs in an actor); step 0 is the validation before training."""
    started = time.perf_counter()
    last = started
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1, start_new_session=True, errors="replace")
        try:
            for line in proc.stdout:
                log.write(line)
                if verbose:
                    stream.write(line)
                elif (match := _STEP_LINE.search(line)) is not None:
                    now = time.perf_counter()
                    step = match.group(1)
                    stream.write(f"[{label}] step {step}/{steps} logged ({now - last:.0f} s)\n")
                    stream.flush()
                    last = now
                if timeout_s is not None and time.perf_counter() - started > timeout_s:
                    stream.write(f"[smoke] timed out after {timeout_s:.0f} s\n")
                    return 124
            return proc.wait()
        finally:
            _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    """main_ppo starts a local Ray cluster as its children: end the whole group, whatever happened."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        time.sleep(0.5)


def run_smoke(overrides: Sequence[str], steps: int = DEFAULT_STEPS, json_path: str | None = None,
              scripted: bool = True, n: int | None = None, workdir: str | None = None,
              verbose: bool = False, timeout_s: float | None = None, stream: TextIO = sys.stdout,
              vocab: str = "qwen") -> int:
    """``vocab``: the tiny model's tokenizer, ``qwen`` (Qwen2.5's) or ``small`` (a BPE of the bundled rollouts'
    text; about half the wall time), see :mod:`verl_multiling.smoke.assets`."""
    from verl_multiling.smoke.assets import (
        VOCABS,
        fitted_prompt_length,
        tiny_model_dir,
        write_recipe_data,
    )
    from verl_multiling.smoke.report import print_report

    recipe, user = split_recipe(overrides)
    if steps < 1:
        raise SmokeError("--steps must be >= 1")
    if vocab not in VOCABS:
        raise SmokeError(f"--vocab {vocab}: choose one of {', '.join(VOCABS)}")
    n = n if n is not None else (4 if scripted else 2)
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"smoke-{recipe}-"))
    work.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.jsonl",):
        (work / stale).unlink(missing_ok=True)
    t0 = time.perf_counter()
    rollouts, lang_key = recipe_data_settings(recipe, user)
    model = tiny_model_dir(vocab=vocab)
    train, val = write_recipe_data(rollouts, work / "data", lang_key)
    prompt_length = fitted_prompt_length(train, model)
    stream.write(f"[smoke] {recipe}: tiny Qwen2 ({vocab} vocabulary) {model}\n"
                 f"[smoke] data {train} (from {rollouts.name}, prompts up to {prompt_length} tokens); "
                 f"work dir {work}; assets {time.perf_counter() - t0:.1f} s\n")
    ray_tmp = Path(tempfile.mkdtemp(prefix="vmr", dir="/tmp"))  # short: Ray's socket paths are length-limited
    command = [sys.executable, "-m", "verl.trainer.main_ppo", f"+recipe={recipe}",
               *smoke_overrides(model_dir=model, train=train, val=val, workdir=work, steps=steps, n=n,
                                scripted=rollouts if scripted else None, ray_tmp=ray_tmp,
                                max_prompt_length=prompt_length),
               *user]
    (work / "command.txt").write_text(" ".join(command) + "\n", encoding="utf-8")
    env = {**os.environ, **smoke_env(work)}
    stream.write(f"[smoke] running main_ppo for {steps} step(s), {n} responses per prompt"
                 f"{' (scripted)' if scripted else ''}; log {work / 'main_ppo.log'}\n")
    stream.flush()
    started = time.perf_counter()
    code = run_main_ppo(command, env, work / "main_ppo.log", stream, verbose, timeout_s, steps)
    elapsed = time.perf_counter() - started
    logged = read_metrics(work / "metrics.jsonl")
    result = {"recipe": recipe, "returncode": code, "wall_s": round(elapsed, 1), "workdir": str(work),
              "scripted": scripted, "n": n, "steps": logged}
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    if code != 0:
        tail = (work / "main_ppo.log").read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
        stream.write("\n".join(tail) + f"\n[smoke] main_ppo FAILED (exit {code}) after {elapsed:.0f} s; "
                     f"full log: {work / 'main_ppo.log'}\n")
        return code or 1
    print_report(result, stream)
    if not logged or logged[-1]["step"] != steps:
        last = logged[-1]["step"] if logged else "none"
        stream.write(f"[smoke] FAILED: main_ppo exited 0 but the last step logged is {last}, not {steps}\n")
        return 1
    resumed = f" (resumed: steps {logged[0]['step']}..{steps})" if logged[0]["step"] > 1 else ""
    stream.write(f"[smoke] passed: {len(logged)} step(s){resumed} in {elapsed:.0f} s\n")
    return 0
