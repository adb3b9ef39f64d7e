"""The fault policy: scorers that raise, hang or lose their Ray actor; counted, bounded, never a silent zero."""

import threading

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf, open_dict

from verl_multiling.plumbing.paths import DATA_DIR
from verl_multiling.config.faults import (
    FaultPolicy,
    ScorerFailure,
    ScorerGuard,
    ScorerUnavailable,
    check_error_rate,
    fault_metrics,
)
from verl_multiling.scorers.translation import ChrFScorer, TranslationConfig, TranslationScorer

HYPS = ["Janet's ducks lay 16 eggs a day.", "Tom bought 5 boxes of pencils."]
REFS = ["Janet's ducks lay 16 eggs per day.", "Tom buys 5 boxes of pencils."]


def chrf(hyps, refs):
    return ChrFScorer().score(hyps, refs)


class Flaky:
    """A real chrF scorer that fails its first ``failures`` calls in the given way."""

    def __init__(self, failures: int, how: str = "raise", hang_s: float = 30.0):
        self.failures, self.how, self.hang_s, self.calls = failures, how, hang_s, 0
        self.release = threading.Event()
        self.hung_returned = 0  # hanging calls that have come back (released, or after hang_s)

    def __call__(self, hyps, refs):
        self.calls += 1
        if self.calls <= self.failures:
            if self.how == "hang":
                self.release.wait(self.hang_s)
                self.hung_returned += 1
            else:
                raise ConnectionError("model server went away")
        return chrf(hyps, refs)


def test_policy_defaults_and_errors_name_the_field():
    assert FaultPolicy.from_node(None) == FaultPolicy()
    assert FaultPolicy.from_node({"on_failure": "stop", "retries": 0}).on_failure == "stop"
    for node, field in [({"on_failure": "ignore"}, "multiling.faults.on_failure"),
                        ({"retries": -1}, "multiling.faults.retries"),
                        ({"retries": 1.5}, "multiling.faults.retries"),
                        ({"timeout_s": 0}, "multiling.faults.timeout_s"),
                        ({"backoff_s": "1s"}, "multiling.faults.backoff_s"),
                        ({"max_error_rate": 1.5}, "multiling.faults.max_error_rate"),
                        ({"breaker_failures": 0}, "multiling.faults.breaker_failures"),
                        ({"retry": 2}, "multiling.faults.retry: unknown key; did you mean .retries."),
                        ("fallback", "multiling.faults")]:
        with pytest.raises(ValueError, match=field):
            FaultPolicy.from_node(node)


def test_a_transient_error_is_retried_and_counted():
    guard = ScorerGuard("chrf", FaultPolicy(retries=2, backoff_s=0.0), fallback=lambda h, r: [0.0] * len(h))
    scorer = Flaky(failures=2)
    out = guard.call(scorer, HYPS, REFS)
    assert out.value == chrf(HYPS, REFS) and out.retries == 2 and not out.fallback
    assert guard.stats()["retries"] == 2 and guard.stats()["error:ConnectionError"] == 2
    assert "failures" not in guard.stats()


def test_a_hanging_scorer_times_out_then_falls_back_within_its_bound():
    """Both attempts hang until released: the guard abandons each after timeout_s (neither has come back when
    it returns the fallback) and names the knob."""
    policy = FaultPolicy(retries=1, backoff_s=0.0, timeout_s=0.3)
    guard = ScorerGuard("comet", policy, fallback=lambda h, r: [0.25] * len(h))
    scorer = Flaky(failures=10, how="hang", hang_s=300.0)
    try:
        out = guard.call(scorer, HYPS, REFS)
        assert scorer.calls == 2 and scorer.hung_returned == 0  # it waited for neither hung call
    finally:
        scorer.release.set()
    assert out.value == [0.25, 0.25] and out.fallback and out.retries == 1
    assert guard.stats()["timeouts"] == 2 and guard.stats()["error:TimeoutError"] == 2


def test_the_circuit_breaker_skips_a_dead_scorer_then_probes_it_again():
    now = [0.0]
    policy = FaultPolicy(retries=0, backoff_s=0.0, breaker_failures=2, breaker_cooldown_s=10.0)
    guard = ScorerGuard("comet", policy, fallback=lambda h, r: [0.5] * len(h), clock=lambda: now[0])
    scorer = Flaky(failures=2)
    assert guard.call(scorer, HYPS, REFS).fallback and guard.call(scorer, HYPS, REFS).fallback
    assert guard.call(scorer, HYPS, REFS).fallback  # open: the scorer is not called at all
    assert scorer.calls == 2 and guard.stats()["breaker_skips"] == 1
    now[0] = 10.5  # cooldown over: one call probes the (now healthy) scorer
    out = guard.call(scorer, HYPS, REFS)
    assert not out.fallback and out.value == chrf(HYPS, REFS) and scorer.calls == 3


def test_zero_and_stop_policies():
    zero = ScorerGuard("comet", FaultPolicy(retries=0, on_failure="zero"), fallback=lambda h, r: [0.5] * len(h))
    with pytest.raises(ScorerUnavailable, match="1 attempts failed"):
        zero.call(Flaky(failures=1), HYPS, REFS)
    stop = ScorerGuard("comet", FaultPolicy(retries=1, backoff_s=0.0, on_failure="stop"))
    with pytest.raises(ScorerFailure, match="on_failure=stop") as info:
        stop.call(Flaky(failures=5), HYPS, REFS)
    assert isinstance(info.value.__cause__, ConnectionError)
    no_fallback = ScorerGuard("kiwi", FaultPolicy(retries=0), fallback=None)
    with pytest.raises(ScorerUnavailable):
        no_fallback.call(Flaky(failures=1), HYPS, REFS)


def test_fault_metrics_and_the_stop_rule():
    cols = {"reward_error": np.array([0.0, 1.0, None, 0.0], dtype=object),
            "scorer_fallback": np.array([1.0, 0.0, 1.0, float("nan")], dtype=object),
            "scorer_retries": np.array([2, 0, 1, 0], dtype=object)}
    m = fault_metrics(cols)
    assert m == {"multiling/faults/reward_error_rate": 0.25, "multiling/faults/reward_error_count": 1.0,
                 "multiling/faults/scorer_fallback_rate": 0.5, "multiling/faults/scorer_fallback_count": 2.0,
                 "multiling/faults/scorer_retries_mean": 0.75, "multiling/faults/unscored_rate": 0.25,
                 "multiling/faults/unscored_count": 1.0}
    check_error_rate(cols, FaultPolicy(max_error_rate=0.25))
    with pytest.raises(RuntimeError, match="1 of 4 rollouts .* at step 7.*max_error_rate=0.2"):
        check_error_rate(cols, FaultPolicy(max_error_rate=0.2), step=7)
    check_error_rate({}, FaultPolicy(max_error_rate=0.0))  # managers without the column: nothing to check


# ---- a math verifier that cannot start: counted, and part of the stop rule -----------------------------

BROKEN_POOL_SCRIPT = r"""
import json, os, resource, sys, threading

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.rewards.adamame import adamame_reward
from verl_multiling.rewards.tapo import TapoConfig, tapo_reward

cfg = MultilingConfig(languages=("fr",))
adamame_reward("Donc la réponse est \\boxed{18}.", "18", "fr", cfg)  # load the language model first
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
open_now = len(os.listdir("/proc/self/fd"))
resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 1, hard))  # the math-verify workers cannot open pipes
rollouts = [("La réponse est \\boxed{\\frac{\\sqrt{2}}{2}}.", "\\frac{1}{\\sqrt{2}}"),
            ("La réponse est \\boxed{(x+1)^2}.", "x^2+2x+1"),
            ("La réponse est \\boxed{2\\pi}.", "\\tau"),
            ("La réponse est \\boxed{18}.", "18")]
out = {}
def score():  # off the main thread, as verl's reward workers call it: math-verify needs its pool there
    out["adamame"] = [adamame_reward(text, gold, "fr", cfg) for text, gold in rollouts]
    out["tapo"] = [tapo_reward(text, gold, "fr", None, None, TapoConfig(), None)[0] for text, gold in rollouts]
thread = threading.Thread(target=score)
thread.start()
thread.join()
print(json.dumps(out))
"""


def test_a_math_verifier_that_cannot_start_is_a_counted_fault_and_stops_the_run(tmp_path):
    """Issue 13 item 6: with a low file-descriptor limit the math-verify pool cannot start, every symbolic
    answer scores 0 with verify_failed=1; that column is now a fault metric and part of max_error_rate."""
    import json
    import subprocess
    import sys

    script = tmp_path / "broken_pool.py"
    script.write_text(BROKEN_POOL_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for recipe in ("adamame", "tapo"):
        parts = out[recipe]
        assert [p["answer_reason"] for p in parts] == ["verifier_error"] * 3 + ["numeric_match"], recipe
        columns = {key: np.array([p.get(key, 0.0) for p in parts], dtype=object)
                   for key in ("verify_failed", "reward_error")}
        m = fault_metrics(columns)
        assert m["multiling/faults/verify_failed_rate"] == 0.75 and m["multiling/faults/verify_failed_count"] == 3.0
        assert m["multiling/faults/unscored_rate"] == 0.75
        with pytest.raises(RuntimeError, match=r"3 of 4 rollouts \(75%\) could not be scored \(reward_error=1: 0, "
                                               r"verify_failed=1: 3\) at step 2.*max_error_rate=0.5.*ulimit -n"):
            check_error_rate(columns, FaultPolicy(), step=2)
        check_error_rate(columns, FaultPolicy(max_error_rate=0.75))


def test_the_stop_rule_counts_a_rollout_once_and_checks_lengths():
    cols = {"reward_error": np.array([1.0, 0.0, 0.0, 0.0]), "verify_failed": np.array([1.0, 0.0, 1.0, 0.0])}
    assert fault_metrics(cols)["multiling/faults/unscored_count"] == 2.0
    check_error_rate(cols, FaultPolicy(max_error_rate=0.5))
    with pytest.raises(RuntimeError, match=r"2 of 4 rollouts \(50%\)"):
        check_error_rate(cols, FaultPolicy(max_error_rate=0.4))
    with pytest.raises(ValueError, match="different lengths"):
        check_error_rate({"reward_error": np.zeros(3), "verify_failed": np.zeros(4)}, FaultPolicy())


# ---- the translation service: a real Ray actor that dies mid-run ---------------------------------------


@pytest.mark.ray
def test_a_killed_scoring_actor_is_recreated_on_retry(ray_cluster):
    import ray

    from verl_multiling.scorers.scoring_service import GuardedTranslationScorer

    cfg = TranslationConfig.from_node({"service": {"mode": "ray", "num_cpus": 0, "max_wait_ms": 1}})
    scorer = GuardedTranslationScorer(cfg, FaultPolicy(retries=2, backoff_s=0.2, timeout_s=60))
    expected = chrf(HYPS, REFS)
    assert scorer.score(HYPS, REFS) == pytest.approx(expected)
    remote = scorer.inner()
    first = remote.handle._actor_id
    ray.kill(remote.handle, no_restart=True)  # the node's scoring actor dies (OOM, crash)
    out = scorer.score_outcome(HYPS, REFS)
    assert out.value == pytest.approx(expected) and not out.fallback and out.retries >= 1
    assert remote.reconnects == 1 and remote.handle._actor_id != first
    assert scorer.guard.stats()["retries"] >= 1
    ray.kill(remote.handle)


# ---- PB-RLSVR: an encoder that cannot load, through the real reward manager --------------------------------


@pytest.fixture
def pb_cfg(reward_loop_cfg):
    return reward_loop_cfg("+recipe=pb_rlsvr")


@pytest.mark.parametrize("on_failure", ["fallback", "zero", "stop"])
def test_pb_rlsvr_encoder_outage_follows_the_policy(pb_cfg, tokenizer, tmp_path, on_failure):
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

    cfg = OmegaConf.create(OmegaConf.to_container(pb_cfg))
    with open_dict(cfg):
        cfg.multiling.pb_rlsvr.semantic.backend = "sentence_transformers"
        cfg.multiling.pb_rlsvr.semantic.model_path = str(tmp_path / "no-such-encoder")
        cfg.multiling.faults = {"retries": 1, "backoff_s": 0.0, "on_failure": on_failure}
    rm = load_reward_manager(cfg, tokenizer)
    rows = [r for r in load_rollouts(DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl") if r.get("pivot_response")][:3]
    data = build_dataproto(rows, tokenizer)
    for i in range(len(rows)):
        if on_failure == "stop":
            with pytest.raises(ScorerFailure, match="semantic scorer 'sentence_transformers'"):
                rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))
            continue
        info = rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))["reward_extra_info"]
        assert info["reward_error"] == 0.0 and 0.0 <= info["score"] <= 1.0
        if on_failure == "fallback":
            assert info["scorer_fallback"] == 1.0 and info["scorer_error"] == 0.0 and info["r_reasoning"] > 0.0
        else:
            assert info["scorer_error"] == 1.0 and info["r_reasoning"] == 0.0
            assert info["score"] == pytest.approx(0.5 * info["answer_agree"])  # alpha = 0.5: the answer still counts


# ---- the bridge stops a run whose rollouts mostly failed to score --------------------------------------------


@pytest.mark.ray
def test_bridge_logs_fault_rates_and_stops_above_max_error_rate(transfer_queue, adamame_cfg):
    from verl.trainer.ppo.v1 import get_trainer_cls
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    import verl_multiling.register  # noqa: F401

    def put(keys, errors):
        fields = [{"prompts": torch.tensor([1, 2]), "responses": torch.arange(3),
                   "response_mask": torch.ones(3, dtype=torch.int64), "rm_scores": torch.tensor([0.0, 0.0, 1.0 - e]),
                   "uid": k.rsplit("_", 2)[0],
                   "extra_fields": {"reward_extra_info": {"acc": 1.0 - e, "lang_match": 1.0, "response_lang": "fr",
                                                          "query_lang": "fr", "reward_error": e}}}
                  for k, e in zip(keys, errors, strict=True)]
        return transfer_queue.kv_batch_put(keys=keys, partition_id="train", fields=list_of_dict_to_tensordict(fields),
                                           tags=[{"status": "success"}] * len(keys))

    trainer = object.__new__(get_trainer_cls("multiling_sync"))
    trainer.config = adamame_cfg
    trainer.global_steps, trainer.total_training_steps = 3, 10
    metrics = {}
    trainer._compute_advantage(put(["f0_0_0", "f0_1_0", "f0_2_0", "f0_3_0"], [1.0, 0.0, 0.0, 0.0]), metrics)
    assert metrics["multiling/faults/reward_error_rate"] == 0.25
    assert metrics["multiling/faults/reward_error_count"] == 1.0
    with pytest.raises(RuntimeError, match="3 of 4 rollouts .* at step 3.*multiling.faults.max_error_rate=0.5"):
        trainer._compute_advantage(put(["f1_0_0", "f1_1_0", "f1_2_0", "f1_3_0"], [1.0, 1.0, 1.0, 0.0]), {})


# ---- a translation scorer that returns NaN: a failure under the policy, never a silent 0 -------------------


class _NanThenReal(TranslationScorer):
    """A COMET stand-in whose first ``bad_calls`` calls return NaN/inf (a real failure mode of fp16 scorers),
    then real chrF scores."""

    name, needs_reference = "comet", True

    def __init__(self, bad_calls: int):
        self.calls, self.bad_calls = 0, bad_calls

    def score(self, hypotheses, references=None, sources=None):
        self.calls += 1
        if self.calls <= self.bad_calls:
            return [float("nan")] + [float("inf")] * (len(hypotheses) - 1)
        return chrf(hypotheses, references)


@pytest.mark.parametrize("bad_calls, expected_reason", [(1, "ok"), (5, "scorer_fallback")])
def test_a_nan_translation_score_is_retried_then_falls_back_to_chrf(bad_calls, expected_reason):
    from verl_multiling.rewards.tapo import TapoConfig, parse_response, translation_score
    from verl_multiling.scorers.scoring_service import GuardedTranslationScorer

    cfg = TapoConfig.from_config({"multiling": {"tapo": {"translation": {"metric": "chrf"}}}})
    scorer = GuardedTranslationScorer(cfg.translation, FaultPolicy(retries=2, backoff_s=0.0))
    scorer._inner = inner = _NanThenReal(bad_calls)
    parsed = parse_response("<translation>How many apples are left?</translation> 3 - 1 = 2. \\boxed{2}")
    value, reason, retries = translation_score(parsed, "How many apples remain?", "Combien de pommes restent ?",
                                                cfg, scorer)
    assert reason == expected_reason and value == pytest.approx(chrf([parsed.translation],
                                                                      ["How many apples remain?"])[0])
    assert retries == min(bad_calls, 2) and inner.calls == min(bad_calls, 2) + 1
    assert 0.0 < value <= 1.0


class _Infinite(TranslationScorer):
    """A scorer that always returns +inf (an fp16 overflow): never a perfect translation."""

    name, needs_reference = "comet", True

    def __init__(self):
        self.calls = 0

    def score(self, hypotheses, references=None, sources=None):
        self.calls += 1
        return [float("inf")] * len(hypotheses)


@pytest.mark.parametrize("guarded", [False, True])
def test_an_infinite_translation_score_is_a_failed_call_not_a_perfect_one(guarded):
    """Issue 22 item 6: +inf used to clip to r_trans = 1.0 with trans_reason=ok."""
    from verl_multiling.rewards.tapo import TapoConfig, parse_response, translation_score
    from verl_multiling.scorers.scoring_service import GuardedTranslationScorer

    cfg = TapoConfig.from_config({"multiling": {"tapo": {"translation": {"metric": "chrf"}}}})
    parsed = parse_response("<translation>How many apples are left?</translation> 3 - 1 = 2. \\boxed{2}")
    inner = _Infinite()
    scorer = inner
    if guarded:  # under the policy: retried, then chrF (counted as scorer_fallback)
        scorer = GuardedTranslationScorer(cfg.translation, FaultPolicy(retries=1, backoff_s=0.0))
        scorer._inner = inner
    value, reason, retries = translation_score(parsed, "How many apples remain?", None, cfg, scorer)
    if guarded:
        assert (reason, retries, inner.calls) == ("scorer_fallback", 1, 2)
        assert value == pytest.approx(chrf([parsed.translation], ["How many apples remain?"])[0]) and value < 1.0
    else:  # a plain scorer has no policy: counted as scorer_error, r_trans 0
        assert (value, reason) == (0.0, "scorer_error")
