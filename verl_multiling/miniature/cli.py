"""``verl-multiling miniature +recipe=NAME [--steps N] [--seed S] [--languages a,b] [--json PATH] [--workdir DIR]
[hydra overrides ...]``: see :mod:`verl_multiling.miniature.run` and docs/miniature.md."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from verl_multiling.miniature.arms import ARMS, RunSize


def _parser() -> argparse.ArgumentParser:
    size = RunSize()
    p = argparse.ArgumentParser(
        prog="verl-multiling miniature",
        description="Train a tiny model for real on CPU with a recipe (verl's main_ppo) and, with the same "
                    "checkpoint, seed and sizes, with plain GRPO on verl's built-ins; evaluate both on a held-out "
                    "split before and after. Every argument that is not a flag is a Hydra override for main_ppo "
                    "(both arms), e.g. +recipe=adamame algorithm.adamame.bonus=0.")
    p.add_argument("--steps", type=int, default=size.steps, help=f"GRPO steps per arm (default {size.steps})")
    p.add_argument("--seed", type=int, default=0, help="seed of the warm start, data order and sampling (default 0)")
    p.add_argument("--languages", default=None,
                   help="comma-separated subset of bn,de,en,es,fr,ja,ru,sw,te,th,zh (default en,fr,ru,zh)")
    p.add_argument("--json", help="write {recipe, seed, steps, languages, arms: {recipe, baseline}} here")
    p.add_argument("--workdir", help="data, logs, verl's metrics and generations, result.json, curves.png "
                                     "(default: a new temp dir)")
    p.add_argument("--prompts", type=int, default=size.prompts_per_step, help="prompts per step (default "
                                                                              f"{size.prompts_per_step})")
    p.add_argument("--n", type=int, default=size.n, help=f"responses per prompt (default {size.n})")
    p.add_argument("--lr", type=float, default=size.lr, help=f"actor learning rate (default {size.lr})")
    p.add_argument("--eval-every", type=int, default=None,
                   help="validate on the held-out split every N steps (default: steps // 3)")
    p.add_argument("--sft-steps", type=int, default=None, help="warm-start SFT steps (default 800)")
    p.add_argument("--arms", default=",".join(ARMS), help="which arms to run (default recipe,baseline)")
    p.add_argument("--sequential", action="store_true",
                   help="run the arms one after the other (default: side by side, each on its own Ray cluster)")
    p.add_argument("--timeout", type=float, default=None, help="stop each arm's main_ppo after this many seconds")
    p.add_argument("--verbose", action="store_true", help="show main_ppo's whole output")
    return p


LIMITS = {"steps": 100_000, "prompts": 65_536, "n": 1024, "lr": 1.0, "eval_every": 100_000,
          "sft_steps": 1_000_000, "timeout": 7 * 86_400}
"""Upper bounds of the numeric flags: a typo such as ``--steps 10**26`` is an error, not a run that never ends."""


def _in_range(parser: argparse.ArgumentParser, name: str, value: int | float | None) -> None:
    high = LIMITS[name]
    if value is not None and not 0 < value <= high:  # also refuses nan and inf
        parser.error(f"--{name.replace('_', '-')} must be in (0, {high}], got {value}")


def miniature_main(argv: Sequence[str]) -> int:
    from dataclasses import replace

    parser = _parser()
    args, rest = parser.parse_known_args(list(argv))
    flags = [a for a in rest if a.startswith("-")]
    if flags:
        parser.error(f"unrecognized arguments: {' '.join(flags)}")
    for name in LIMITS:
        _in_range(parser, name, getattr(args, name))
    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    if not arms or any(a not in ARMS for a in arms):
        parser.error(f"--arms: choose from {','.join(ARMS)}, got {args.arms!r}")
    from verl_multiling.plumbing.quiet import configure

    configure(args.verbose)
    from verl_multiling.miniature.run import DEFAULT_LANGUAGES, MiniatureError, MiniatureOptions, run_miniature
    from verl_multiling.miniature.warm_start import SftSettings
    from verl_multiling.smoke.run import SmokeError, split_recipe

    try:
        recipe, overrides = split_recipe(rest)
        languages = (DEFAULT_LANGUAGES if args.languages is None
                     else tuple(x.strip() for x in args.languages.split(",") if x.strip()))
        size = replace(RunSize(), steps=args.steps, prompts_per_step=args.prompts, n=args.n, lr=args.lr,
                       eval_every=args.eval_every or max(1, args.steps // 3))
        sft = SftSettings() if args.sft_steps is None else replace(SftSettings(), steps=args.sft_steps)
        opts = MiniatureOptions(recipe=recipe, overrides=overrides, seed=args.seed, languages=languages, size=size,
                                sft=sft, arms=arms, workdir=args.workdir, verbose=args.verbose,
                                timeout_s=args.timeout, parallel=not args.sequential)
        return run_miniature(opts, args.json)
    except (MiniatureError, SmokeError, ValueError) as exc:
        print(f"verl-multiling miniature: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(miniature_main(sys.argv[1:]))
