"""The smoke runs' metrics regression gate: per-step rewards and advantages against stored values.

A scripted smoke run (:mod:`verl_multiling.smoke.run`, ``--scripted``) answers every prompt with the
recipe's bundled responses, so its per-step rewards and advantages are a function of the code alone:
the prompts in each step (verl's train sampler, seeded by ``data.seed``), the bundled responses (the
k-th request for a question gets its response k mod m), the reward manager and the estimator. The random
model only serves log-probs; it never changes a response. The gate compares, for each step:

- every ``multiling/*`` metric the reward manager and bridge logged (per-language means of each
  reward part, counts, fault counters, the bridge's t and T);
- verl's ``critic/score/*``, ``critic/rewards/*`` and ``critic/advantages/*`` (mean, max, min);
- ``advantages/response_mean_sorted``: for each response, the mean over its response tokens of the
  advantages verl trained on (the bridge's dump, ``advantages/step_<k>.pt``), sorted. Sorting makes it
  independent of which group member received which bundled response (the order requests reach the
  rollout server), which is the only thing in the run that is not fixed.

Left out on purpose: the actor's numbers (``actor/grad_norm``, losses, entropy, log-prob gaps). They
depend on the LoRA adapters' random initialisation inside verl's workers and differ by 20-40 % between
two runs of the same recipe; the end-to-end tests bound them separately.

A value passes when ``|got - stored| <= abs_tol + rel_tol * |stored|`` (numpy's ``isclose``) under the
first rule of :data:`TOLERANCES` whose pattern matches the metric's name; each rule gives its reason.
A metric stored but not logged, or logged but not stored, fails too: a new reward part is a deliberate
change, recorded by updating the stored values.

Stored values live in ``tests/data/smoke_metrics/<recipe>.json``. Update them with one command from the
repository root (it runs the scripted smoke of each recipe, one after another)::

    python -m verl_multiling.smoke.metrics_gate --update               # every recipe
    python -m verl_multiling.smoke.metrics_gate --update tapo          # one recipe
    python -m verl_multiling.smoke.metrics_gate --check                # run and compare, no pytest
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RECIPES = ("adamame", "tapo", "pb_rlsvr", "reflection")
"""The recipes whose scripted smoke runs are gated (those the end-to-end tests run)."""

STEPS = 2
N = 4
VOCAB = "small"
OVERRIDES = ("data.seed=0",)
"""The gated run: ``verl-multiling smoke +recipe=R --scripted --steps 2 --n 4 --vocab small data.seed=0``.

``--vocab small`` (a BPE of the bundled rollouts' text instead of Qwen2.5's 151,665 tokens) halves the run's
wall time. The rewards do not depend on the tokenizer; token counts (``response_length``, TAPO's ``u_tokens``)
and TAPO's per-token advantages do, so the stored values hold for this vocabulary only.

``data.seed`` fixes verl's train sampler, hence which prompts make each step (verl 0.9.1's default
``null`` leaves a fresh ``torch.Generator`` that happens to be deterministic; the gate does not rely on
that)."""

BASELINE_DIR = Path("tests") / "data" / "smoke_metrics"
UPDATE_COMMAND = "python -m verl_multiling.smoke.metrics_gate --update"
ADVANTAGES = "advantages/response_mean_sorted"
_GATED = re.compile(r"^(multiling/|critic/(score|rewards|advantages)/)")


@dataclass(frozen=True)
class Tolerance:
    pattern: str
    abs_tol: float
    rel_tol: float
    reason: str

    def allows(self, stored: float, got: float) -> bool:
        return abs(got - stored) <= self.abs_tol + self.rel_tol * abs(stored)

    def describe(self) -> str:
        return f"abs {self.abs_tol:g} + rel {self.rel_tol:g} ({self.reason})"


TOLERANCES = (
    Tolerance(r"^multiling/.*/(count|response_length|u_tokens|u_chars|think_chars|reflection_markers|u_step"
              r"|global_step|total_steps)$|^multiling/faults/.*_count$", 1e-9, 0.0,
              "counts of responses, tokens and characters of the scripted text: exact in float64; a change means "
              "the tokenizer, the U/R split or the prompts of a step changed"),
    Tolerance(r"^multiling/", 1e-5, 0.0,
              "per-language means of reward parts over 4-8 responses; rule-based parts are exact, model-based "
              "ones (semantic encoder, translation scorer) are float32 (run to run: below 1e-15 measured); 1e-5 "
              "leaves room for float32 differences between CPUs and is two orders below what one response's "
              "part moving by 0.01 does to a mean (at least 1.2e-3)"),
    Tolerance(r"^(critic/|advantages/)", 1e-5, 0.0,
              "float32 tensors reduced by verl (run to run: up to 2e-7 measured, from the order of "
              "float32 sums); one response's advantage moving by 0.01 moves the sorted list by 0.01"),
)


class MetricsGateError(RuntimeError):
    """A stored-values file is missing or malformed, or a run did not log what the gate needs."""


def tolerance_for(name: str) -> Tolerance:
    """The first rule of :data:`TOLERANCES` whose pattern matches ``name``."""
    for rule in TOLERANCES:
        if re.search(rule.pattern, name):
            return rule
    raise MetricsGateError(f"metric {name!r} matches no rule of metrics_gate.TOLERANCES; add one with its reason")


def response_advantages(dump: Mapping) -> list[float]:
    """Sorted per-response means of the advantages over the response tokens: ``sum_t A_it m_it / sum_t m_it``."""
    advantages, mask = dump["advantages"].double(), dump["response_mask"].double()
    tokens = mask.sum(dim=1).clamp(min=1.0)
    return sorted(float(v) for v in (advantages * mask).sum(dim=1) / tokens)


def snapshot(steps: Sequence[Mapping], workdir: Path) -> dict[str, dict]:
    """The gated values of a smoke run: ``{step: {metric: value}}`` from verl's logged steps and the dumps.

    ``steps`` is ``verl-multiling smoke --json``'s ``steps`` list; ``workdir`` holds ``advantages/step_<k>.pt``.
    """
    import torch

    out: dict[str, dict] = {}
    for entry in steps:
        step = int(entry["step"])
        values = {k: float(v) for k, v in sorted(entry["metrics"].items()) if _GATED.match(k)}
        dump_path = Path(workdir) / "advantages" / f"step_{step}.pt"
        if not dump_path.is_file():
            raise MetricsGateError(f"step {step}: no advantage dump {dump_path}; the gate reads what the bridge "
                                   f"stored (multiling.debug.advantage_dump_dir, set by the smoke run)")
        values[ADVANTAGES] = response_advantages(torch.load(dump_path, weights_only=False))
        out[str(step)] = values
    return out


def baseline_path(recipe: str, directory: Path = BASELINE_DIR) -> Path:
    return Path(directory) / f"{recipe}.json"


def run_settings() -> dict:
    return {"steps": STEPS, "n": N, "scripted": True, "vocab": VOCAB, "overrides": list(OVERRIDES)}


def write_baseline(recipe: str, values: Mapping[str, dict], directory: Path = BASELINE_DIR) -> Path:
    path = baseline_path(recipe, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"recipe": recipe, "run": run_settings(), "update_command": f"{UPDATE_COMMAND} {recipe}",
              "steps": values}
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    staging.replace(path)
    return path


def load_baseline(recipe: str, directory: Path = BASELINE_DIR) -> dict[str, dict]:
    path = baseline_path(recipe, directory)
    if not path.is_file():
        raise MetricsGateError(f"{recipe}: no stored smoke metrics at {path}; create them with "
                               f"`{UPDATE_COMMAND} {recipe}` from the repository root")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("run") != run_settings():
        raise MetricsGateError(f"{path}: stored for run {record.get('run')}, but the gate runs {run_settings()}; "
                               f"regenerate with `{UPDATE_COMMAND} {recipe}`")
    return record["steps"]


def _fmt(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.6g}" for v in value) + "]"
    return f"{value:.9g}"


def compare(recipe: str, stored: Mapping[str, dict], got: Mapping[str, dict]) -> list[str]:
    """One line per difference beyond tolerance (empty: the run matches the stored values)."""
    problems: list[str] = []
    for step in sorted(set(stored) | set(got), key=int):
        if step not in got:
            problems.append(f"recipe={recipe} step={step}: stored but not logged by this run")
            continue
        if step not in stored:
            problems.append(f"recipe={recipe} step={step}: logged by this run but not stored")
            continue
        want, have = stored[step], got[step]
        for name in sorted(set(want) | set(have)):
            where = f"recipe={recipe} step={step} metric={name}"
            if name not in have:
                problems.append(f"{where}: stored={_fmt(want[name])} but not logged by this run")
            elif name not in want:
                problems.append(f"{where}: got={_fmt(have[name])} but no stored value (a new metric)")
            else:
                problems.extend(_compare_value(where, name, want[name], have[name]))
    return problems


def _compare_value(where: str, name: str, stored, got) -> list[str]:
    rule = tolerance_for(name)
    if isinstance(stored, list) or isinstance(got, list):
        if not (isinstance(stored, list) and isinstance(got, list) and len(stored) == len(got)):
            return [f"{where}: stored={_fmt(stored)} got={_fmt(got)} (a different number of values)"]
        pairs = list(zip(stored, got))
    else:
        pairs = [(stored, got)]
    bad = [(s, g) for s, g in pairs if not (math.isfinite(g) and rule.allows(s, g))]
    if not bad:
        return []
    worst = max(abs(g - s) if math.isfinite(g) else math.inf for s, g in bad)
    return [f"{where}: stored={_fmt(stored)} got={_fmt(got)} |diff|={worst:.3g} beyond tolerance "
            f"{rule.describe()}"]


def failure_message(recipe: str, problems: Sequence[str], directory: Path = BASELINE_DIR) -> str:
    return (f"smoke metrics regression for {recipe}: {len(problems)} difference(s) from "
            f"{baseline_path(recipe, directory)}\n  " + "\n  ".join(problems) +
            f"\nIf the change is intended, update the stored values from the repository root with\n"
            f"  {UPDATE_COMMAND} {recipe}\nand commit the file with the change that moved them.")


def check(recipe: str, steps: Sequence[Mapping], workdir: Path, directory: Path = BASELINE_DIR) -> list[str]:
    """The differences between a finished run (``--json`` steps and its work dir) and the stored values."""
    return compare(recipe, load_baseline(recipe, directory), snapshot(steps, workdir))


def gated_run(recipe: str, workdir: Path, timeout_s: float | None, stream=sys.stdout) -> list[dict]:
    """Run the gated scripted smoke of ``recipe`` in ``workdir``; its logged steps (raises if it failed)."""
    from verl_multiling.smoke.run import run_smoke

    out = Path(workdir) / "smoke.json"
    code = run_smoke([f"+recipe={recipe}", *OVERRIDES], steps=STEPS, json_path=str(out), scripted=True, n=N,
                     workdir=str(workdir / "run"), timeout_s=timeout_s, stream=stream, vocab=VOCAB)
    if code != 0:
        raise MetricsGateError(f"{recipe}: the smoke run failed (exit {code}); nothing was written or compared")
    return json.loads(out.read_text(encoding="utf-8"))["steps"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verl_multiling.smoke.metrics_gate",
                                     description="Store or check the scripted smoke runs' per-step metrics.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--update", action="store_true", help="run each recipe's smoke and store its values")
    action.add_argument("--check", action="store_true", help="run each recipe's smoke and compare")
    parser.add_argument("recipes", nargs="*", help=f"recipes (default: all of {', '.join(RECIPES)})")
    parser.add_argument("--dir", type=Path, default=BASELINE_DIR,
                        help=f"where the stored values live (default {BASELINE_DIR}, from the repository root)")
    parser.add_argument("--timeout", type=float, default=1500.0, help="seconds allowed per smoke run")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.recipes) - set(RECIPES))
    if unknown:
        parser.error(f"not a gated recipe: {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
    if args.dir == BASELINE_DIR and not Path("tests").is_dir():
        parser.error(f"no tests/ folder here for the default --dir {BASELINE_DIR}; run from the repository root "
                     f"or pass --dir")
    from verl_multiling.plumbing.quiet import configure

    configure(False)  # verl's import-time warnings, as `verl-multiling smoke` hides them
    failed = 0
    for recipe in args.recipes or RECIPES:
        with tempfile.TemporaryDirectory(prefix=f"gate-{recipe}-") as work:
            try:
                steps = gated_run(recipe, Path(work), args.timeout)
                if args.update:
                    path = write_baseline(recipe, snapshot(steps, Path(work) / "run"), args.dir)
                    print(f"[metrics-gate] {recipe}: wrote {path}")
                    continue
                problems = check(recipe, steps, Path(work) / "run", args.dir)
            except MetricsGateError as exc:
                print(f"[metrics-gate] {exc}", file=sys.stderr)
                failed += 1
                continue
        if problems:
            print(failure_message(recipe, problems, args.dir), file=sys.stderr)
            failed += 1
        else:
            print(f"[metrics-gate] {recipe}: matches {baseline_path(recipe, args.dir)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
