"""``verl-multiling`` command line.

    verl-multiling preflight +recipe=adamame [hydra overrides ...] [--rollouts FILE] [--step T] [--static]
    verl-multiling smoke +recipe=adamame [--steps 2] [--json out.json] [--sampled] [hydra overrides ...]
    verl-multiling miniature +recipe=adamame [--steps N] [--seed S] [--languages en,fr] [--json PATH] [hydra overrides ...]
    verl-multiling recipes
    verl-multiling eval RUN.jsonl [RUN2.jsonl ...] --out DIR [--k 1,4] [--budget 4096]
    verl-multiling generate --data TEST.parquet --model PATH --out RUN.jsonl [--k 4]
    verl-multiling benchmark AREA [ARGS ...]   (python -m verl_multiling.benchmarks AREA; no AREA lists them)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verl-multiling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("preflight", help="validate a recipe config and dry-run its reward path on CPU")
    pre.add_argument("overrides", nargs="*", help="Hydra overrides exactly as for main_ppo, e.g. +recipe=adamame")
    pre.add_argument("--config-name", default="ppo_trainer",
                     help="verl's primary config, as main_ppo's --config-name (ppo_megatron_trainer for Megatron)")
    pre.add_argument("--rollouts", help="JSONL of rollouts (uid, lang, question, response, ground_truth); "
                                        "default: the bundled 104 rollouts in 13 languages")
    pre.add_argument("--step", type=int, default=None, help="training step t for the table (default 1)")
    pre.add_argument("--workers", type=int, default=2, help="Ray reward workers to start (default 2)")
    pre.add_argument("--json", help="also write the findings and tables to this JSON file")
    pre.add_argument("--static", action="store_true",
                     help="config, data and scorer checks only (stages 1-3): no Ray cluster, no rollouts")
    pre.add_argument("--verbose", action="store_true",
                     help="also show verl's import-time warnings (no accelerator, optional engines not installed)")
    sub.add_parser("smoke", add_help=False, help="real main_ppo GRPO steps of a recipe on CPU with a tiny model")
    sub.add_parser("miniature", add_help=False,
                   help="train a tiny model for real on CPU with a recipe and with plain GRPO, before/after")
    sub.add_parser("recipes", help="list the recipes usable as +recipe=NAME")
    sub.add_parser("eval", add_help=False,
                   help="accuracy, language fidelity and token efficiency of generations (eval -h)")
    sub.add_parser("generate", add_help=False, help="k samples per question for evaluation, resumable (generate -h)")
    sub.add_parser("benchmark", add_help=False,
                   help="run one benchmark area, as python -m verl_multiling.benchmarks (benchmark -h lists them)")
    return parser


def _smoke_parser() -> argparse.ArgumentParser:
    from verl_multiling.smoke.assets import VOCABS

    smoke = argparse.ArgumentParser(
        prog="verl-multiling smoke", description="Real main_ppo GRPO steps of a recipe on CPU with a tiny model. "
        "Every argument that is not a flag is a Hydra override for main_ppo, e.g. +recipe=adamame.")
    smoke.add_argument("--steps", type=int, default=2, help="training steps to run (default 2)")
    smoke.add_argument("--json", help="write {recipe, steps: [{step, metrics}]} with every metric verl logged")
    mode = smoke.add_mutually_exclusive_group()
    mode.add_argument("--scripted", dest="scripted", action="store_true", default=True,
                      help="(default) answer the bundled prompts with the recipe's bundled responses, so rewards "
                           "and advantages are not all zero")
    mode.add_argument("--sampled", dest="scripted", action="store_false",
                      help="sample every response from the tiny random model (rewards are then mostly 0)")
    smoke.add_argument("--n", type=int, default=None, help="responses per prompt (default 4; 2 with --sampled)")
    smoke.add_argument("--vocab", choices=VOCABS, default=VOCABS[0],
                       help="the tiny model's tokenizer: qwen (default; Qwen2.5's 151,665 tokens) or small (a BPE "
                            "of about 4.4k tokens trained on the bundled rollouts; about half the wall time)")
    smoke.add_argument("--workdir", help="where data, logs, metrics and checkpoints go (default: a new temp dir)")
    smoke.add_argument("--timeout", type=float, default=None, help="stop main_ppo after this many seconds")
    smoke.add_argument("--verbose", action="store_true", help="show main_ppo's whole output")
    return smoke


def _smoke(argv: list[str]) -> int:
    """Flags and Hydra overrides may come in any order (overrides never start with '-')."""
    parser = _smoke_parser()
    args, rest = parser.parse_known_args(argv)
    flags = [a for a in rest if a.startswith("-")]
    if flags:
        parser.error(f"unrecognized arguments: {' '.join(flags)}")
    from verl_multiling.plumbing.quiet import configure

    configure(args.verbose)
    from verl_multiling.smoke.run import SmokeError, run_smoke

    try:
        return run_smoke(rest, args.steps, args.json, args.scripted, args.n, args.workdir, args.verbose,
                         args.timeout, vocab=args.vocab)
    except SmokeError as exc:
        print(f"verl-multiling smoke: {exc}", file=sys.stderr)
        return 2


def _miniature(argv: list[str]) -> int:
    """Flags and Hydra overrides may come in any order (overrides never start with '-')."""
    from verl_multiling.miniature.cli import miniature_main

    return miniature_main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    code = _dispatch(list(sys.argv[1:] if argv is None else argv))
    if argv is None:  # the console script: the process ends right after
        _fast_exit()
    return code


def _fast_exit() -> None:
    """Skip the interpreter's full garbage collections at exit: with torch, transformers and verl loaded
    they cost 4-5 s on a 2-core machine after the work is done (measured in docs/timings.md). atexit
    handlers still run; the frozen objects are simply not collected before the process ends."""
    import gc

    gc.freeze()


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "smoke":
        return _smoke(argv[1:])
    if argv and argv[0] == "miniature":
        return _miniature(argv[1:])
    if argv and argv[0] == "benchmark":
        from verl_multiling.benchmarks import main as benchmarks_main

        return benchmarks_main(argv[1:], prog="verl-multiling benchmark")
    if argv and argv[0] in ("eval", "generate"):
        from verl_multiling.evaluation.cli import main as evaluation_main

        return evaluation_main(argv)
    args = _parser().parse_args(argv)
    if args.command == "recipes":
        from verl_multiling.plumbing.paths import recipe_names

        print("\n".join(recipe_names()))
        return 0
    if args.workers < 1:
        print("--workers must be >= 1", file=sys.stderr)
        return 2
    from verl_multiling.plumbing.quiet import configure

    configure(args.verbose)
    from verl_multiling.preflight.run import run_preflight

    return run_preflight(args.overrides, args.rollouts, args.step, args.workers, args.json, args.config_name,
                         static=args.static, launched_at=_process_start())


def _process_start() -> float | None:
    """When this process started (time.time() scale), so preflight can say what Python start-up cost."""
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # psutil ships with ray; without it the start-up time is simply not reported
        return None


if __name__ == "__main__":
    sys.exit(main())
