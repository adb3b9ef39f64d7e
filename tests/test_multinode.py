"""TAPO's per-node translation-scoring actor on a simulated multi-node Ray cluster.

``ray.cluster_utils.Cluster`` starts three raylets on this machine (a head and two worker nodes, one CPU and
a 100 MB object store each), each with its own node id. verl's real ``RewardLoopManager`` places its
``reward.num_workers=3`` RewardLoopWorkers round-robin over the nodes, and each worker's TAPO reward manager
scores r_trans through ``guarded_translation_scorer`` with ``multiling.tapo.translation.service.mode=ray``
(chrF inside the actor: the offline metric that needs no model). The checks:

* one scoring actor per node that scored, placed on that node, and each node's actor served exactly the
  rollouts of the reward workers on its node (its request counter);
* a killed actor is re-created on the same node by the next step's retry, the other nodes' actors keep
  their ids and their counters;
* the step's per-language and fault metrics (as the bridge logs them) equal those of a one-node run
  (``reward.num_workers=1``) of the same rollouts.

A driver joins one Ray cluster at a time: when another module's local Ray is already up in this process
(the session fixture ``ray_cluster``), the module runs itself once in a fresh interpreter and each test here
reports its own outcome there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf, open_dict

from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

pytestmark = pytest.mark.ray  # starts Ray clusters: `-m "not ray"` deselects these with the other Ray tests

NODES = 3
OBJECT_STORE = 100 * 1024**2
_CHILD = "VERL_MULTILING_MULTINODE_CHILD"
WORKER_NAME = "reward_loop_worker_{}"  # verl names its reward workers so (reward_loop.py)


# ---- isolation from another module's local Ray -------------------------------------------------------------


@pytest.fixture(scope="module")
def isolated_report(tmp_path_factory):
    """None when this process may start the simulated cluster; else the outcomes of a fresh-process run."""
    import ray

    if not ray.is_initialized() or os.environ.get(_CHILD):
        return None
    xml = tmp_path_factory.mktemp("multinode") / "report.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}",
                           str(Path(__file__))], capture_output=True, text=True, timeout=900,
                          env={**os.environ, _CHILD: "1"}, cwd=Path(__file__).resolve().parent.parent)
    if not xml.exists():
        pytest.fail(f"the fresh-process run wrote no report (rc={done.returncode}):\n{done.stdout[-3000:]}")
    outcomes = {}
    for case in ET.parse(xml).iter("testcase"):
        failed = case.find("failure") if case.find("failure") is not None else case.find("error")
        outcomes[case.get("name")] = None if failed is None else (failed.get("message", "") + "\n" + (failed.text or ""))
    return outcomes


@pytest.fixture
def here_or_isolated(request, isolated_report):
    """Run the test here, or report its outcome from the fresh-process run."""
    if isolated_report is None:
        return
    name = request.node.name
    if name not in isolated_report:
        pytest.fail(f"{name} did not run in the fresh-process run")
    if isolated_report[name] is not None:
        pytest.fail(f"{name} failed in a fresh process:\n{isolated_report[name][-4000:]}")
    pytest.skip("passed in a fresh process (this process's Ray belongs to another module)")


# ---- the simulated cluster and verl's reward loop on it ----------------------------------------------------


@pytest.fixture(scope="module")
def cluster(isolated_report):
    if isolated_report is not None:
        yield None
        return
    import ray
    from ray.cluster_utils import Cluster

    node_args = dict(num_cpus=1, object_store_memory=OBJECT_STORE)
    c = Cluster(initialize_head=True, head_node_args=dict(node_args, include_dashboard=False))
    for _ in range(NODES - 1):
        c.add_node(**node_args)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False, logging_level="ERROR")
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="module")
def rows():
    """One group per language of the bundled TAPO sample: 12 languages x 6 kinds = 72 rollouts."""
    from verl_multiling.plumbing.paths import DATA_DIR

    return [r for r in load_rollouts(DATA_DIR / "sample_tapo_rollouts.jsonl") if r["uid"].endswith("-q1")]


@pytest.fixture(scope="module")
def data(rows, tokenizer):
    out = build_dataproto(rows, tokenizer)
    out.non_tensor_batch["question_en"] = np.array([r["question_en"] for r in rows], dtype=object)
    out.non_tensor_batch["question"] = np.array([r["question"] for r in rows], dtype=object)
    return out


@pytest.fixture(scope="module")
def cfg_for(reward_loop_cfg):
    base = reward_loop_cfg("+recipe=tapo")

    def make(num_workers: int):
        cfg = OmegaConf.create(OmegaConf.to_container(base))
        with open_dict(cfg):
            cfg.reward.num_workers = num_workers
            cfg.multiling.tapo.translation.service.mode = "ray"  # chrF behind the per-node actor
            cfg.multiling.tapo.translation.service.num_cpus = 0
            cfg.multiling.faults.retries = 2
            cfg.multiling.faults.backoff_s = 0.2
        return cfg

    return make


def translation_cfg(cfg):
    from verl_multiling.rewards.tapo import TapoConfig

    return TapoConfig.from_config(cfg).translation


def actor_node(handle) -> str:
    """The node an actor runs on, from the GCS actor table."""
    from ray._private import state

    return state.actors(actor_id=handle._actor_id.hex())["Address"]["NodeID"]


def scoring_actors(tcfg) -> dict[str, object]:
    """node id -> handle of every live translation-scoring actor for this metric, found by name."""
    import ray

    from verl_multiling.scorers.scoring_service import ACTOR_PREFIX, NAMESPACE, current_job_id

    prefix = f"{ACTOR_PREFIX}_{tcfg.metric}_{current_job_id()}_"  # this job's actors: <prefix><node id>
    return {name[len(prefix):]: ray.get_actor(name, namespace=NAMESPACE) for name in scoring_actor_names(tcfg)}


def scoring_actor_names(tcfg) -> list[str]:
    """The names of this job's live translation-scoring actors for this metric."""
    import ray

    from verl_multiling.scorers.scoring_service import ACTOR_PREFIX, NAMESPACE, current_job_id

    prefix = f"{ACTOR_PREFIX}_{tcfg.metric}_{current_job_id()}_"
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == NAMESPACE and a["name"].startswith(prefix)]


def stats(actors: dict) -> dict[str, dict]:
    import ray

    return {node: ray.get(h.stats.remote()) for node, h in actors.items()}


def release(manager, tcfg=None) -> None:
    """Kill a manager's reward workers and wait until their names are free (verl names them per index); with
    ``tcfg``, also until the translation-scoring actors they created are gone: an actor is owned by the reward
    worker that created it (not detached), so it ends with its owner."""
    import ray

    for worker in manager.reward_loop_workers:
        ray.kill(worker, no_restart=True)
    deadline = time.monotonic() + 60
    for i in range(len(manager.reward_loop_workers)):
        while True:
            try:
                ray.get_actor(WORKER_NAME.format(i))
            except ValueError:
                break
            assert time.monotonic() < deadline, f"{WORKER_NAME.format(i)} still registered 60 s after ray.kill"
            time.sleep(0.1)
    while tcfg is not None and scoring_actor_names(tcfg):
        assert time.monotonic() < deadline, f"scoring actors {scoring_actor_names(tcfg)} outlived their owners"
        time.sleep(0.1)


def worker_nodes(manager) -> list[str]:
    return [actor_node(w) for w in manager.reward_loop_workers]


def scored_per_node(out, manager) -> Counter:
    """How many rollouts each node's reward worker sent to the scorer (verl's chunking: contiguous, in order)."""
    n = len(manager.reward_loop_workers)
    chunk = -(-len(out) // n)
    nodes = worker_nodes(manager)
    reasons = out.non_tensor_batch["trans_reason"]
    return Counter(nodes[i // chunk] for i in range(len(out)) if reasons[i] in ("ok", "scorer_fallback"))


def step_metrics(out, data) -> dict[str, float]:
    """The per-language and fault metrics the bridge logs for a step (bridge/trainers.py)."""
    from verl_multiling.bridge.per_sample import per_language_metrics
    from verl_multiling.config.faults import fault_metrics

    columns = {k: np.asarray(out.non_tensor_batch[k], dtype=object) for k in out.meta_info["reward_extra_keys"]}
    length = data.batch["response_mask"].sum(-1).numpy()
    return {**per_language_metrics(columns, length), **fault_metrics(columns)}


@pytest.fixture(scope="module")
def one_node(cluster, cfg_for, data):
    """The same step on verl's RewardLoopManager with one reward worker, run and released before ``spread``
    starts (verl names reward workers by index, so the two managers cannot coexist); no test has to release
    the shared multi-node manager, so the tests pass in any order."""
    if cluster is None:
        return None
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    cfg = cfg_for(1)
    tcfg = translation_cfg(cfg)
    single = RewardLoopManager(cfg)
    try:
        out = single.compute_rm_score(data)
        (node,) = set(worker_nodes(single))
        served = {n: s["requests"] for n, s in stats(scoring_actors(tcfg)).items()}  # before the release ends it
    finally:
        release(single, tcfg)
    return dict(out=out, node=node, served=served, left=scoring_actors(tcfg))


@pytest.fixture(scope="module")
def spread(cluster, cfg_for, data, one_node):
    """verl's RewardLoopManager with one reward worker per node, and its first step (after ``one_node``)."""
    if cluster is None:
        yield None
        return
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    cfg = cfg_for(NODES)
    manager = RewardLoopManager(cfg)
    out = manager.compute_rm_score(data)
    tcfg = translation_cfg(cfg)
    actors = scoring_actors(tcfg)
    yield dict(cfg=cfg, tcfg=tcfg, manager=manager, out=out, actors=actors, stats=stats(actors))
    release(manager)


# ---- the checks ----------------------------------------------------------------------------------------------


def test_one_scoring_actor_per_node_serves_its_own_workers(here_or_isolated, cluster, spread):
    import ray

    from verl_multiling.scorers.scoring_service import NAMESPACE, actor_name

    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == NODES
    manager, out = spread["manager"], spread["out"]
    placed = worker_nodes(manager)
    assert set(placed) == nodes, f"verl placed its {NODES} reward workers on {placed}, not one per node"

    actors = spread["actors"]
    assert set(actors) == nodes  # every node scored, so every node has its actor ...
    named = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == NAMESPACE]
    assert sorted(named) == sorted(actor_name(spread["tcfg"], n) for n in nodes)  # ... and exactly one
    for node, handle in actors.items():
        assert actor_node(handle) == node, "the actor named for a node must run on that node"

    expected = scored_per_node(out, manager)
    assert sum(expected.values()) == int((out.non_tensor_batch["trans_reason"] == "ok").sum()) > 0
    # each node's actor served exactly its own reward worker's rollouts: no request crossed nodes
    assert {n: s["requests"] for n, s in spread["stats"].items()} == {n: expected[n] for n in nodes}
    assert all(s["failed_batches"] == 0 for s in spread["stats"].values())
    assert not np.any(out.non_tensor_batch["scorer_retries"].astype(float))


def test_a_killed_actor_is_recreated_on_its_own_node(here_or_isolated, cluster, spread, data):
    import ray

    manager, tcfg = spread["manager"], spread["tcfg"]
    before = scoring_actors(tcfg)
    counts = stats(before)
    driver = ray.get_runtime_context().get_node_id()
    victim = next(n for n in worker_nodes(manager) if n != driver)  # a worker node, not the head
    old_id = before[victim]._actor_id
    ray.kill(before[victim], no_restart=True)

    out = manager.compute_rm_score(data)
    after = scoring_actors(tcfg)
    assert set(after) == set(before)
    assert after[victim]._actor_id != old_id and actor_node(after[victim]) == victim
    expected = scored_per_node(out, manager)
    now = stats(after)
    for node in before:
        if node == victim:
            continue
        assert after[node]._actor_id == before[node]._actor_id  # untouched
        assert now[node]["requests"] == counts[node]["requests"] + expected[node]  # and still counting
    assert now[victim]["requests"] == expected[victim]  # the new actor served the rest of that node's rollouts

    info = out.non_tensor_batch
    retried = info["scorer_retries"].astype(float) > 0
    assert retried.any() and not info["scorer_fallback"].astype(float).any()
    assert not info["scorer_error"].astype(float).any()
    # scores are unchanged by the outage: the retry reached the re-created actor, not the chrF fallback
    assert np.array_equal(out.batch["rm_scores"].numpy(), spread["out"].batch["rm_scores"].numpy())
    assert np.allclose(info["r_trans"].astype(float), spread["out"].non_tensor_batch["r_trans"].astype(float))


def test_step_metrics_equal_a_one_node_run(here_or_isolated, cluster, spread, one_node, data):
    assert one_node["left"] == {}  # the released worker's scoring actor ended with it
    out, node = one_node["out"], one_node["node"]
    scored = int((out.non_tensor_batch["trans_reason"] == "ok").sum())
    assert one_node["served"] == {node: scored}  # one node did all the scoring, on an actor of its own
    multi = step_metrics(spread["out"], data)
    one = step_metrics(out, data)
    assert sum(k.endswith("/count") and "faults" not in k for k in one) == 12  # 12 languages
    assert "multiling/faults/unscored_rate" in one and "multiling/fr/r_trans" in one
    assert multi == one
    assert np.array_equal(out.batch["rm_scores"].numpy(), spread["out"].batch["rm_scores"].numpy())
