"""A verl reward function (reward.custom_reward_function) as the task part of our reward managers.

The managers are built by verl's own ``load_reward_manager`` from the composed recipe config, exactly as a
reward worker builds them, and score the recipes' bundled rollouts with real language ID and real parsing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

FUNCTIONS = Path(__file__).resolve().parent / "custom_task_functions.py"
ROLLOUTS = {"adamame": "sample_rollouts.jsonl", "tapo": "sample_tapo_rollouts.jsonl",
            "reflection": "sample_reflection_rollouts.jsonl", "pb_rlsvr": "sample_pb_rlsvr_rollouts.jsonl"}
LANGS = "multiling.languages=[en,fr,de,es,pt,ru,zh,ja,ko,th,bn,sw,te]"


def fn(name: str) -> list[str]:
    return [f"reward.custom_reward_function.path=file://{FUNCTIONS}", f"reward.custom_reward_function.name={name}"]


def rollouts(recipe: str, n: int | None = None) -> list[dict]:
    from verl_multiling.plumbing.paths import DATA_DIR

    rows = load_rollouts(DATA_DIR / ROLLOUTS[recipe])
    return rows if n is None else rows[:n]


def manager(reward_loop_cfg, tokenizer, recipe: str, *overrides: str):
    from verl.trainer.ppo.reward import load_reward_manager

    return load_reward_manager(reward_loop_cfg(f"+recipe={recipe}", LANGS, *overrides), tokenizer)


def score_all(rm, rows, tokenizer, lang_key: str = "lang") -> list[dict]:
    data = build_dataproto(rows, tokenizer, lang_key)
    return [rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))["reward_extra_info"] for i in range(len(rows))]


# ---- the acceptance case: a function that returns 1.0 gives acc 1.0 everywhere, our parts unchanged ----


@pytest.mark.parametrize("recipe", ["adamame", "tapo", "reflection"])
def test_constant_function_gives_the_task_part_and_keeps_the_recipes_parts(reward_loop_cfg, tokenizer, recipe):
    rows = rollouts(recipe, 24)
    custom = score_all(manager(reward_loop_cfg, tokenizer, recipe, *fn("always_one")), rows, tokenizer)
    builtin = score_all(manager(reward_loop_cfg, tokenizer, recipe), rows, tokenizer)
    assert [c["acc"] for c in custom] == [1.0] * len(rows)
    assert {c["answer_reason"] for c in custom} == {"custom"}
    assert any(b["acc"] == 0.0 for b in builtin), "the math checker must disagree somewhere, or this proves nothing"
    own = {"adamame": ("lang_match", "response_lang", "query_lang"),
           "tapo": ("r_trans", "u_tokens", "u_step", "format_reason", "trans_reason"),
           "reflection": ("reflection_markers", "format_reason", "think_chars")}[recipe]
    for c, b in zip(custom, builtin, strict=True):
        assert set(c) == set(b), "the same keys as the built-in task (the function returned a float)"
        assert {k: c[k] for k in own} == {k: b[k] for k in own}
        assert c["verify_failed"] == 0.0 and c["reward_error"] == 0.0
    if recipe == "reflection":  # the gate opens at full credit: markers count on every rollout with a think part
        assert all(c["score"] == pytest.approx(c["acc"] + c["format"] + c["reflection"]) for c in custom)
        gated = [b for b in builtin if b["reflection_reason"] == "gated_wrong"]
        assert gated and all(c["reflection_reason"] != "gated_wrong" for c in custom)
    if recipe == "tapo":  # r_fmt no longer needs a \boxed{} answer, only well-formed tags
        assert [c["r_fmt"] for c in custom] == [c["u_step"] for c in custom]


def test_verl_default_dispatcher_is_not_a_custom_task(reward_loop_cfg, tokenizer):
    """Without a path verl hands its default compute_score: the math checker stays the task."""
    rm = manager(reward_loop_cfg, tokenizer, "adamame")
    assert rm.compute_score is not None and rm.task is None
    info = score_all(rm, rollouts("adamame", 8), tokenizer)
    assert {i["answer_reason"] for i in info} <= {"numeric_match", "numeric_mismatch", "no_answer",
                                                  "math_verify_match", "math_verify_mismatch"}


# ---- dict results: extra keys, renaming, filling ----


@pytest.fixture
def call_log(tmp_path, monkeypatch):
    """The calls the test functions made, read back from their worker processes (custom_task_functions._log):
    ``call_log()`` lists them, ``call_log("raises")`` those of one function."""
    import json

    path = tmp_path / "calls.jsonl"
    monkeypatch.setenv("CUSTOM_TASK_LOG", str(path))

    def read(name: str | None = None) -> list[dict]:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [c for c in map(json.loads, lines) if name is None or c["name"] == name]

    return read


def test_dict_extra_keys(reward_loop_cfg, tokenizer, call_log):
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("with_parts"))
    rows = rollouts("adamame", 4)
    info = score_all(rm, rows, tokenizer)
    for i, row in zip(info, rows, strict=True):
        assert i["acc"] == i["score"] == 0.5
        assert i["f1"] == 0.25 and type(i["f1"]) is float  # numpy number -> Python float
        assert i["pred"] == "x" and i["flagged"] == 1.0
        assert i["task_acc"] == 7.0 and i["task_lang_match"] == "theirs"  # their keys never overwrite ours
        assert i["lang_match"] in (0.0, 1.0) and i["query_lang"] == row["lang"]
    # what the function received: verl's keywords, the row's extra_info plus ours
    seen = call_log("with_parts")
    assert [s["data_source"] for s in seen] == [r["data_source"] for r in rows]
    assert [s["ground_truth"] for s in seen] == [r["ground_truth"] for r in rows]
    assert all({"num_turns", "rollout_reward_scores", "query_lang", "question"} <= set(s["extra_info"]) for s in seen)
    assert [s["extra_info"]["query_lang"] for s in seen] == [r["lang"] for r in rows]


def test_learned_keys_are_filled_with_none(reward_loop_cfg, tokenizer):
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("varying_keys"))
    info = score_all(rm, rollouts("adamame", 8), tokenizer)  # en: right, english, wrong (17), no answer, ...
    assert "f1" in info[0] and info[0]["f1"] == 1.0
    later = info[2]  # the wrong answer: the function returned bleu but no f1
    assert later["f1"] is None and later["bleu"] == 0.5
    assert all({"f1", "bleu"} <= set(i) for i in info[2:]), "a key seen once is given to every later sample"


def test_declared_keys_fix_the_schema(reward_loop_cfg, tokenizer):
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("varying_keys"), "multiling.task.extra_keys={f1: -1.0}")
    info = score_all(rm, rollouts("adamame", 8), tokenizer)
    assert len({frozenset(i) for i in info}) == 1 and "bleu" not in info[0]
    assert [i["f1"] for i in info[:4]] == [1.0, 1.0, -1.0, -1.0]
    assert rm.task.schema.dropped["bleu"] == sum(i["f1"] == -1.0 for i in info) == 6  # counted, each time


def test_reward_kwargs_and_async_functions(reward_loop_cfg, tokenizer):
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("scaled"), "+reward.custom_reward_function.reward_kwargs.scale=4")
    assert [i["acc"] for i in score_all(rm, rollouts("adamame", 2), tokenizer)] == [1.0, 1.0]
    rm = manager(reward_loop_cfg, tokenizer, "tapo", *fn("async_one"))
    info = score_all(rm, rollouts("tapo", 3), tokenizer)
    assert [(i["r_acc"], i["async_ok"]) for i in info] == [(1.0, 1.0)] * 3


# ---- faults: counted, never a silent 0 ----

FAST = ("multiling.faults.backoff_s=0", "multiling.faults.breaker_failures=100")


@pytest.mark.parametrize("name, reason", [
    ("raises", "custom_error"), ("returns_none", "custom_not_a_number"), ("returns_text", "custom_not_a_number"),
    ("returns_nan", "custom_not_a_number"), ("dict_without_score", "custom_not_a_number"),
    # issue 22 item 2: SystemExit / KeyboardInterrupt / GeneratorExit escaped run_single; 1e308 became +inf in
    # float32 at the estimator; 10**400 was a reward_error
    ("exits", "custom_error"), ("interrupts", "custom_error"), ("generator_exit", "custom_error"),
    ("huge_float", "custom_not_a_number"), ("huge_int", "custom_not_a_number"),
])
def test_a_failing_function_is_a_counted_fault(reward_loop_cfg, tokenizer, name, reason):
    from verl_multiling.config.faults import check_error_rate, fault_metrics

    rm = manager(reward_loop_cfg, tokenizer, "reflection", *fn(name), *FAST)
    info = score_all(rm, rollouts("reflection", 4), tokenizer)
    assert [(i["acc"], i["answer_reason"], i["verify_failed"]) for i in info] == [(0.0, reason, 1.0)] * 4
    assert all(i["reward_error"] == 0.0 for i in info), "the sample is scored: only its task part failed"
    assert rm.task.counts[reason] == 4
    columns = {k: np.array([i[k] for i in info], dtype=object) for k in info[0]}
    assert fault_metrics(columns)["multiling/faults/verify_failed_count"] == 4.0
    with pytest.raises(RuntimeError, match="reward.custom_reward_function"):
        check_error_rate(columns, rm.settings.faults, step=3)  # the bridge's stop rule


def test_raising_is_retried_and_a_non_number_is_not(reward_loop_cfg, tokenizer, call_log):
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("raises"), *FAST, "multiling.faults.retries=2")
    score_all(rm, rollouts("adamame", 1), tokenizer)
    assert len(call_log("raises")) == 3  # the first attempt and two retries
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("returns_none"), *FAST, "multiling.faults.retries=2")
    score_all(rm, rollouts("adamame", 1), tokenizer)
    assert len(call_log("returns_none")) == 1  # it answered: a retry would answer the same
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("flaky"), *FAST)
    assert score_all(rm, rollouts("adamame", 1), tokenizer)[0]["acc"] == 1.0  # the retry succeeded


def test_a_hanging_function_times_out(reward_loop_cfg, tokenizer, call_log):
    """``hangs`` sleeps 30 s then returns 1.0: a score of 0 with custom_timeout means the 0.3 s limit stopped each
    call (one call per rollout, no retry)."""
    rm = manager(reward_loop_cfg, tokenizer, "tapo", *fn("hangs"), *FAST, "multiling.faults.retries=0",
                 "multiling.task.timeout_s=0.3")
    info = score_all(rm, rollouts("tapo", 2), tokenizer)
    assert len(call_log("hangs")) == 2
    assert [(i["r_acc"], i["answer_reason"], i["verify_failed"]) for i in info] == [(0.0, "custom_timeout", 1.0)] * 2


def _task_processes() -> list:
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name == "verl-multiling-task-function"]


def _assert_only_pool_workers_live(before: set[int], *tasks) -> None:
    """Every task-function process started since ``before`` (pids) is a current worker or spare of ``tasks``;
    the others (killed) are dead, given a moment to be reaped."""
    import threading

    for thread in threading.enumerate():  # a spare starting in the background: let it join its pool first
        if thread.name == "task-function-spare":
            thread.join(timeout=60)
    current = {w.process.pid for task in tasks for w in task.pool.workers}
    for process in _task_processes():
        if process.pid not in before and process.pid not in current:
            process.join(timeout=10)
            assert not process.is_alive(), f"task worker {process.pid} outlived its call"


def test_a_spinning_function_is_killed_and_later_calls_do_not_stall(reward_loop_cfg, tokenizer, monkeypatch):
    """Issue 22 item 2: a spinning function timed out but its thread kept the CPU (after 4 of them, 30 normal
    calls took 68x longer, 12 threads alive). Now each runaway call's worker process is killed."""
    import threading

    monkeypatch.setenv("VERL_MULTILING_TASK_WORKERS", "2")
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("spins_on_spin"), *FAST, "multiling.faults.retries=0",
                 "multiling.task.timeout_s=0.3")
    task = rm.task
    before = {p.pid for p in _task_processes()}
    assert task.score("ok", "x", "1", {}).reason == "custom"  # a warm pool
    threads_before = threading.active_count()
    spinning = [task.score("spin", "x", "1", {}) for _ in range(4)]
    assert [o.reason for o in spinning] == ["custom_timeout"] * 4 and all(o.verify_failed for o in spinning)
    assert task.pool.kills == 4 and task.guard.counts["timeouts"] == 4
    assert not [t for t in threading.enumerate() if t.name.startswith("guard-")], "no thread left spinning"
    normal = [task.score("ok", "x", "1", {}) for _ in range(30)]
    assert [o.reason for o in normal] == ["custom"] * 30
    _assert_only_pool_workers_live(before, task)  # the workers and the warm spare: the 4 spinning ones are gone
    assert len(task.pool.workers) <= 2 + 1
    assert threading.active_count() <= threads_before + 1  # at most a spare starting in the background
    task.close()
    assert task.pool.workers == []


def test_on_failure_stop_stops_the_run(reward_loop_cfg, tokenizer):
    from verl_multiling.config.faults import ScorerFailure

    for name in ("raises", "returns_none"):
        rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn(name), *FAST, "multiling.faults.on_failure=stop",
                     "multiling.faults.retries=0")
        with pytest.raises(ScorerFailure, match="reward.custom_reward_function"):
            score_all(rm, rollouts("adamame", 1), tokenizer)


def test_a_failed_sample_carries_the_declared_keys(reward_loop_cfg, tokenizer):
    rm = manager(reward_loop_cfg, tokenizer, "adamame", *fn("raises"), *FAST, "multiling.faults.retries=0",
                 "multiling.task.extra_keys=[f1,pred]")
    info = score_all(rm, rollouts("adamame", 2), tokenizer)
    assert [(i["f1"], i["pred"]) for i in info] == [(None, None)] * 2


# ---- PB-RLSVR: the gold accuracy ----


def test_pb_rlsvr_takes_acc_from_the_task():
    from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig, prepare
    from verl_multiling.rewards.task import TaskOutcome, TaskSchema, outcome_from_result

    schema = TaskSchema(reserved=("acc",))

    def task(text, gold, lang):
        assert gold == ["Canberra", "canberra"] and lang == "fr"
        return outcome_from_result({"score": 1.0, "f1": 0.5}, schema)

    prepared = prepare("Réponse : Canberra", "Answer: Canberra", ["Canberra", "canberra"], "fr",
                       PbRlsvrConfig(answer_mode="embedding", gold="gate"), task=task)
    assert prepared.parts["acc"] == 1.0 and prepared.parts["f1"] == 0.5 and prepared.parts["answer_reason"] == "custom"
    failed = prepare("x", "y \\boxed{1}", "1", "fr", PbRlsvrConfig(gold="none"),
                     task=lambda *a: TaskOutcome(0.0, "custom_error", verify_failed=True))
    assert failed.parts["verify_failed"] == 1.0  # a configured function that fails is counted even with gold=none


# ---- config: errors name the field ----


@pytest.mark.parametrize("node, message", [
    ({"extra_keys": "f1"}, "multiling.task.extra_keys='f1'"),
    ({"extra_keys": ["score"]}, "'score' is the task reward itself"),
    ({"extra_keys": {"f1": [1]}}, "multiling.task.extra_keys.f1=[1]"),
    ({"timeout_s": 0}, "multiling.task.timeout_s=0"),
    ({"timeout": 3}, "multiling.task.timeout: unknown key; did you mean 'timeout_s'"),
])
def test_task_config_errors_name_the_field(node, message):
    from verl_multiling.rewards.task import TaskConfig

    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        TaskConfig.from_config({"multiling": {"task": node}})


def test_preflight_checks_the_function_loads(compose):
    from verl_multiling.preflight.checks import check_reward_manager, check_multiling

    ok = check_reward_manager(compose(["+recipe=tapo", *fn("always_one")]))
    assert any(f.level == "ok" and "always_one" in f.message and "r_acc" in f.message for f in ok)
    missing = check_reward_manager(compose(["+recipe=adamame", "reward.custom_reward_function.path=/nonexistent/f.py"]))
    assert any(f.level == "error" and f.field == "reward.custom_reward_function" and "/nonexistent/f.py" in f.message
               for f in missing)
    no_name = check_reward_manager(compose(["+recipe=adamame", *fn("no_such_function")]))
    assert any(f.level == "error" and "no_such_function" in f.message for f in no_name)
    _, found = check_multiling(compose(["+recipe=adamame", "multiling.task.timeout_s=-1"]))
    assert any(f.level == "error" and f.field == "multiling.task.timeout_s" for f in found)


# ---- preflight: the user's task in the per-language table (the acceptance) ----


def _preflight(tmp_path, *overrides):
    import io
    import json

    from verl_multiling.preflight.run import run_preflight

    report, out = tmp_path / "preflight.json", io.StringIO()
    code = run_preflight(list(overrides), stream=out, json_path=str(report))
    assert code == 0, out.getvalue()
    return {r["lang"]: r for r in json.loads(report.read_text())["languages"]}, out.getvalue()


@pytest.mark.ray
@pytest.mark.parametrize("recipe", ["adamame", "tapo", "reflection"])
def test_preflight_table_shows_the_functions_accuracy(ray_cluster, tmp_path, recipe):
    rows, text = _preflight(tmp_path, f"+recipe={recipe}", *fn("always_one"))
    assert len(rows) > 10 and all(row["acc"] == 1.0 for row in rows.values()), text
    assert f"always_one scored {rows['all']['n']} of {rows['all']['n']} rollouts" in text


@pytest.mark.ray
def test_preflight_of_the_qa_example(ray_cluster, tmp_path):
    rows, text = _preflight(tmp_path, "+recipe=adamame", "+task=multilingual_qa")
    assert set(rows) == {"fr", "es", "pt", "de", "ja", "zh", "ko", "ru", "all"}
    for lang, row in rows.items():  # native, English (collapse), wrong, another surface form: 3 of 4 correct
        assert (row["acc"], row["lang_match"], row["answer_found"]) == (0.75, 0.75, 1.0), (lang, row)
        assert 0.75 <= row["f1"] < 1.0  # the wrong answer shares characters with the right one in CJK only
    assert "math scorer: not used" in text and "sample_qa_rollouts.jsonl" in text


# ---- the example task's function ----


def test_short_answer_on_the_bundled_qa_rollouts():
    from verl_multiling.rewards.short_answer import compute_score

    expected = {"native": 1.0, "english": 1.0, "wrong": 0.0, "surface": 1.0}
    rows = load_rollouts(Path(__file__).resolve().parents[1] / "verl_multiling" / "data" / "sample_qa_rollouts.jsonl")
    assert len(rows) == 64 and len({r["lang"] for r in rows}) == 8
    for row in rows:
        out = compute_score(row["data_source"], row["response"], np.array(row["ground_truth"], dtype=object),
                            {"query_lang": row["lang"]})  # a parquet list column arrives as a numpy array
        assert out["score"] == expected[row["kind"]], (row["lang"], row["kind"], out)
        assert set(out) == {"score", "f1", "answer_found", "pred"}


@pytest.mark.parametrize("response, gold, lang, score", [
    ("Answer: The Eiffel Tower", "Eiffel Tower", "en", 1.0),
    ("Réponse : l'Australie", "Australie", "fr", 1.0),
    ("Antwort: １９６９", "1969", "de", 1.0),  # full-width digits
    ("উত্তর: ১৯৬৯", "1969", "bn", 1.0),  # Bengali digits
    ("Answer: Eiffel", "Eiffel Tower", "en", 0.0),  # a partial answer is not an exact match (f1 shows it)
    ("", "Paris", "fr", 0.0),
    ("Answer: " + "x" * 2000, "x", "en", 0.0),  # not a short answer
    ("Answer: Paris", None, "fr", 0.0),
])
def test_short_answer_normalisation(response, gold, lang, score):
    from verl_multiling.rewards.short_answer import compute_score

    assert compute_score("qa", response, gold, {"query_lang": lang})["score"] == score


# ---- property: any user function, at each manager's task path: no escape, no stall, a counted reason ----

BEHAVIOURS = ("raise", "exit", "interrupt", "generator_exit", "base", "os_exit", "hang", "spin", "ok")


def _expected_reason(behaviour: str) -> str:
    from custom_task_functions import _values

    from verl_multiling.rewards.task import NotANumber, plain_result

    kind, _, key = behaviour.partition(":")
    if kind == "value":
        try:
            plain_result(_values()[key])
        except NotANumber:
            return "custom_not_a_number"
        return "custom"
    return {"hang": "custom_timeout", "spin": "custom_timeout", "ok": "custom"}.get(kind, "custom_error")


managers_before: dict[int, set[int]] = {}


@pytest.fixture(scope="module")
def scripted_managers(reward_loop_cfg, tokenizer):
    """One manager per recipe that takes a custom task function, each with the scripted function, small pools
    and a short timeout."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VERL_MULTILING_TASK_WORKERS", "1")
        patch.setenv("VERL_MULTILING_TASK_SPARES", "1")
        opts = (*fn("scripted"), *FAST, "multiling.faults.retries=0", "multiling.task.timeout_s=0.5")
        before = {p.pid for p in _task_processes()}
        managers = {recipe: manager(reward_loop_cfg, tokenizer, recipe, *opts)
                    for recipe in ("adamame", "tapo", "reflection", "pb_rlsvr")}
        managers_before[id(managers)] = before
        yield managers
        for rm in managers.values():
            rm.task.close()


def _values_keys() -> list[str]:
    import sys

    sys.path.insert(0, str(FUNCTIONS.parent))
    from custom_task_functions import _values

    return sorted(_values())


def test_any_user_function_is_contained_and_counted(scripted_managers, tokenizer):
    import threading

    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    behaviours = st.one_of(st.sampled_from(BEHAVIOURS), st.sampled_from(_values_keys()).map(lambda k: f"value:{k}"))
    rows = {recipe: rollouts(recipe, 1)[0] for recipe in scripted_managers}

    @settings(max_examples=16, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(recipe=st.sampled_from(sorted(scripted_managers)), behaviour=behaviours)
    @example(recipe="adamame", behaviour="spin")  # besides the drawn ones: each kind of runaway at least once
    @example(recipe="pb_rlsvr", behaviour="hang")
    @example(recipe="reflection", behaviour="interrupt")
    @example(recipe="tapo", behaviour="generator_exit")
    @example(recipe="tapo", behaviour="spin")
    @example(recipe="adamame", behaviour="value:10**400")
    def check(recipe, behaviour):
        rm = scripted_managers[recipe]
        counts_before = dict(rm.task.counts)
        row = dict(rows[recipe], data_source=behaviour)
        item = build_dataproto([row], tokenizer, "lang")[0:1]
        if recipe == "pb_rlsvr":  # its gold part: the task outcome that prepare() reads, before any encoder
            parts = rm._prepare_item(item[-1:][0]).parts
        else:
            parts = rm.loop.run_until_complete(rm.run_single(item))["reward_extra_info"]
            assert parts["reward_error"] == 0.0, parts  # nothing escaped into the manager's catch-all
        expected = _expected_reason(behaviour)
        counted = {k: v - counts_before.get(k, 0) for k, v in rm.task.counts.items() if v != counts_before.get(k, 0)}
        assert counted == {expected: 1}, (recipe, behaviour, counted)
        if recipe != "pb_rlsvr":  # PB-RLSVR's answer_reason is its agreement with the pivot; acc is the task's
            assert parts["answer_reason"] == expected, (recipe, behaviour, parts)
        assert parts["verify_failed"] == (0.0 if expected == "custom" else 1.0), (recipe, behaviour, parts)
        # no stall: nothing of a runaway call is left running
        assert not [t for t in threading.enumerate() if t.name.startswith("guard-")]
        _assert_only_pool_workers_live(managers_before[id(scripted_managers)],
                                       *(m.task for m in scripted_managers.values()))

    check()
