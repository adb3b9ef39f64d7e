#!/usr/bin/env python
r"""Filter reasoning traces for AdaMame stage 1 (SFT) and write verl's multi-turn SFT parquet.

A trace is kept when (a) language ID says it is in the query language (math stripped),
(b) math-verify says its boxed answer equals the gold answer, and (c) its \boxed{} answer
comes after </think>. The logic lives in ``verl_multiling.jobs.sft_filter``; this is its CLI.

Example::

    python scripts/filter_sft_traces.py traces.jsonl --output data/sft_train.parquet \
        --rejects data/sft_rejects.jsonl --report data/sft_report.json --workers 8

Exit status: 0 when at least one trace was kept, 1 when none was, 2 on bad input or options.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from verl_multiling.jobs import sft_filter as sf
from verl_multiling.scorers.language_id import BACKENDS

EXIT_NOTHING_KEPT = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    """The command line (every option documented in ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="filter_sft_traces.py",
        description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "reject reasons (a trace gets the first that applies): "
            + ", ".join(sf.CHECK_ORDER)
            + ".\nexit status: 0 = some traces kept, 1 = none kept, 2 = bad input or options."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="trace files: JSON lines (.jsonl/.ndjson/.json) or parquet, one row per trace")
    io = parser.add_argument_group("output")
    io.add_argument("--output", required=True, metavar="PARQUET",
                    help="kept traces as parquet in verl's multi-turn SFT format: a 'messages' column "
                         "[{role: user, content: question}, {role: assistant, content: response}] plus "
                         "'lang', 'ground_truth' and 'data_source'")
    io.add_argument("--rejects", metavar="JSONL",
                    help="also write every rejected row with its reason and detail as JSON lines")
    io.add_argument("--report", metavar="JSON",
                    help="also write the per-language counts (input, kept, each reject reason) as JSON")
    io.add_argument("--val-output", metavar="PARQUET",
                    help="also hold out --val-fraction of the kept traces into this parquet (not trained on)")
    io.add_argument("--val-fraction", type=float, default=0.1,
                    help="share held out with --val-output (default 0.1, the released run's val_size)")
    io.add_argument("--prompt-template", default="adamame", choices=["adamame", "none"],
                    help="user turn: the AdaMame instruction of the row's language, a blank line, the question "
                         "(default, the authors' released SFT prompts), or none: the bare question")
    io.add_argument("--data-source", default=sf.FilterConfig.data_source,
                    help="'data_source' of output rows whose input has none (default: %(default)s)")
    cols = parser.add_argument_group("input columns")
    cols.add_argument("--question-key", default="question", help="column of the question (default: %(default)s)")
    cols.add_argument("--response-key", default="response",
                      help="column of the reasoning trace, usually '<think>...</think>' then the answer "
                           "(default: %(default)s)")
    cols.add_argument("--gold-key", default="ground_truth", help="column of the gold answer (default: %(default)s)")
    cols.add_argument("--lang-key", default="lang",
                      help="column of the query language, an ISO 639-1 code such as fr or pt-BR "
                           "(default: %(default)s)")
    checks = parser.add_argument_group("checks")
    checks.add_argument("--languages", nargs="+", default=list(sf.DEFAULT_LANGUAGES), metavar="LANG",
                        help="the task's languages (ISO 639-1); rows in others are rejected as "
                             "unsupported_language (default: %(default)s, AdaMame's)")
    checks.add_argument("--backend", default=sf.FilterConfig.backend, choices=sorted(BACKENDS),
                        help="language-ID backend (default: %(default)s, the authors' filter and the AdaMame "
                             "reward's detector; docs/benchmarks.md has the measurement)")
    checks.add_argument("--fidelity", default="first500", choices=sf.FIDELITY_MODES,
                        help="language check: 'first500' = the first 500 characters are detected as the "
                             "query language (AdaMame's rule, default); 'lines' = that and every non-empty "
                             "line, math stripped, is in the query language or undetectable (stricter)")
    checks.add_argument("--require-think-close", action=argparse.BooleanOptionalAction, default=True,
                        help="the \\boxed{} answer must come after a </think> (default: on); with "
                             "--no-require-think-close a trace without </think> may keep its last \\boxed{}")
    checks.add_argument("--open-think", action=argparse.BooleanOptionalAction, default=True,
                        help="prepend '<think>\\n' to kept traces that close </think> without opening it, as "
                             "DeepSeek-R1-Distill rollouts do (default: on)")
    checks.add_argument("--min-letters", type=int, default=3,
                        help="fewer letters than this after math stripping count as no language "
                             "(default: %(default)s)")
    checks.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                        help="wall-clock bound of one math-verify call (default: %(default)s)")
    checks.add_argument("--tokenizer", metavar="PATH_OR_NAME",
                        help="tokenizer for the length check (with --max-length): traces longer than "
                             "--max-length tokens are rejected as too_long")
    checks.add_argument("--max-length", type=int, metavar="TOKENS",
                        help="token budget of question + response + chat-template markers; use the SFT "
                             "recipe's data.max_length (needs --tokenizer)")
    run = parser.add_argument_group("run")
    run.add_argument("--workers", type=int, default=1,
                     help="process-pool size for judging traces (math verification dominates; "
                          "default: %(default)s = in this process)")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                     help="show a tqdm progress bar on stderr (default: on)")
    return parser


def config_from_args(args: argparse.Namespace) -> sf.FilterConfig:
    """The :class:`~verl_multiling.jobs.sft_filter.FilterConfig` the options describe."""
    return sf.FilterConfig(
        languages=tuple(args.languages),
        backend=args.backend,
        fidelity=args.fidelity,
        require_think_close=args.require_think_close,
        open_think=args.open_think,
        min_letters=args.min_letters,
        timeout_s=args.timeout,
        question_key=args.question_key,
        response_key=args.response_key,
        gold_key=args.gold_key,
        lang_key=args.lang_key,
        data_source=args.data_source,
        tokenizer=args.tokenizer,
        max_length=args.max_length,
        prompt_template=None if args.prompt_template == "none" else args.prompt_template,
    )


def run(args: argparse.Namespace) -> int:
    """Read, filter, write; print the report. Returns the exit status."""
    config = config_from_args(args)
    if args.workers < 1:
        raise sf.SftInputError(f"--workers must be >= 1, got {args.workers}")
    rows = sf.read_traces(args.inputs, config)
    kept, rejects, report = sf.filter_traces(rows, config, workers=args.workers, progress=args.progress)
    report["inputs"] = [str(p) for p in args.inputs]
    train = kept
    if args.val_output:
        train, val = sf.split_validation(kept, args.val_fraction)
        print(f"held out {len(val)} kept traces for validation in {sf.write_sft_parquet(val, args.val_output)}")
    output = sf.write_sft_parquet(train, args.output)
    print(sf.format_report(report))
    print(f"wrote {len(train)} kept traces to {output}")
    if args.rejects:
        print(f"wrote {len(rejects)} rejects to {sf.write_rejects(rejects, args.rejects)}")
    if args.report:
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote the report to {path}")
    if not kept:
        print("error: no trace was kept; the SFT trainer cannot start on an empty dataset", file=sys.stderr)
        return EXIT_NOTHING_KEPT
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except sf.SftInputError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
