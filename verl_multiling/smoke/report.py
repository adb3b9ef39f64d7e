"""Per-step and per-language tables of what verl logged in a smoke run."""

from __future__ import annotations

from typing import TextIO

STEP_COLUMNS = (  # verl scores rule-based rewards while responses stream out: reward time is inside gen_s
    ("time_s", "timing_s/step"),
    ("gen_s", "timing_s/gen"),
    ("logp_s", "timing_s/old_log_prob"),
    ("ref_s", "timing_s/ref"),
    ("adv_s", "timing_s/adv"),
    ("update_s", "timing_s/update_actor"),
    ("score", "critic/score/mean"),
    ("adv_min", "critic/advantages/min"),
    ("adv_max", "critic/advantages/max"),
    ("grad_norm", "actor/grad_norm"),
    ("resp_len", "response_length/mean"),
    ("lp_diff_max", "training/rollout_probs_diff_max"),
)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def language_table(metrics: dict) -> tuple[list[str], list[list[str]]]:
    """Rows per language, columns per reward part, from ``multiling/<lang>/<part>`` metrics."""
    parts: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        pieces = key.split("/")
        if len(pieces) == 3 and pieces[0] == "multiling" and pieces[1] not in ("faults", "bridge"):
            parts.setdefault(pieces[1], {})[pieces[2]] = value
    columns = sorted({c for row in parts.values() for c in row})
    rows = [[lang, *(_fmt(parts[lang].get(c)) for c in columns)] for lang in sorted(parts)]
    return ["lang", *columns], rows


def print_report(result: dict, stream: TextIO) -> None:
    steps = result["steps"]
    stream.write(f"\n{result['recipe']}: {len(steps)} step(s) logged by verl\n")
    header = ["step", *(name for name, _ in STEP_COLUMNS)]
    rows = [[str(s["step"]), *(_fmt(s["metrics"].get(key)) for _, key in STEP_COLUMNS)] for s in steps]
    stream.write("\n".join(_table(header, rows)) + "\n")
    for s in steps:
        header, rows = language_table(s["metrics"])
        faults = {k.split("/", 2)[2]: v for k, v in s["metrics"].items() if k.startswith("multiling/faults/")}
        stream.write(f"\nstep {s['step']}: per language (multiling/<lang>/<part>)\n")
        stream.write("\n".join(_table(header, rows)) + "\n")
        if faults:
            stream.write("faults: " + ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(faults.items())) + "\n")
