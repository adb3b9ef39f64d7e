"""The per-node scoring actors (TAPO's translation scorer, PB-RLSVR's semantic encoder) end with the job that
created them: on a long-lived cluster nothing of a finished run stays behind, holding a model or a GPU.

A training job is a driver process; verl's reward workers are actors of its job and create the scoring actors
(``mode: ray``). Here a separate driver process joins this session's local Ray cluster (``address="local"``,
the ``ray_cluster`` fixture), starts one reward-worker actor that scores through both services exactly as a
reward manager does (``get_translation_scorer`` / ``RemoteSemanticScorer``), prints the actors it sees, and
ends: normally, or killed with SIGKILL (a crashed or cancelled run). Then no actor of that job may remain on
the cluster. With ``lifetime="detached"`` (before) both stayed until someone killed them by name.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.ray

DRIVER = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import ray

    from verl_multiling.scorers.scoring_service import NAMESPACE, current_job_id, get_translation_scorer
    from verl_multiling.scorers.semantic import SemanticScorer
    from verl_multiling.scorers.semantic_service import RemoteSemanticScorer
    from verl_multiling.scorers.translation import TranslationConfig
    from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig


    class Overlap(SemanticScorer):  # a model-free encoder stand-in: the actor's lifetime is what is tested
        name = "overlap"

        def similarity(self, hyps, refs, langs=None):
            return np.array([len(set(h) & set(r)) / max(1, len(set(h) | set(r))) for h, r in zip(hyps, refs)])


    def overlap(cfg):
        return Overlap()


    @ray.remote(num_cpus=0)
    class RewardWorker:  # what verl's RewardLoopWorker does with a TAPO or PB-RLSVR manager in mode=ray
        def score(self):
            tcfg = TranslationConfig.from_node({"service": {"mode": "ray", "num_cpus": 0}})
            scfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"semantic": {
                "service": {"mode": "ray", "num_cpus": 0}}}}}).semantic
            self.translation = get_translation_scorer(tcfg)
            self.semantic = RemoteSemanticScorer(scfg, scorer_factory=overlap)
            return (self.translation.score(["Il fait beau."], ["It is sunny."])
                    + self.semantic.similarity(["abc"], ["abd"]).tolist())


    ray.init(address=sys.argv[1], namespace="a_training_job", log_to_driver=False, logging_level="ERROR")
    worker = RewardWorker.remote()
    scores = ray.get(worker.score.remote())
    named = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == NAMESPACE]
    print(json.dumps({"job": current_job_id(), "named": named, "scores": scores}), flush=True)
    if sys.argv[2] == "hang":  # the test kills this driver
        time.sleep(600)
''')


def job_actors(ray, job: str) -> list[str]:
    from verl_multiling.scorers.scoring_service import NAMESPACE

    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == NAMESPACE and f"_{job}_" in a["name"])


def wait_gone(ray, job: str, limit_s: float = 60.0) -> list[str]:
    """This job's scoring actors still registered after at most ``limit_s`` (polled; [] as soon as none)."""
    deadline = time.monotonic() + limit_s
    left = job_actors(ray, job)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = job_actors(ray, job)
    return left


@pytest.mark.parametrize("ending", ["exit", "killed"])
def test_no_scoring_actor_outlives_its_job(ray_cluster, tmp_path, ending):
    ray = ray_cluster
    from verl_multiling.scorers.scoring_service import NAMESPACE

    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    address = ray.get_runtime_context().gcs_address
    proc = subprocess.Popen([sys.executable, str(script), address, "hang" if ending == "killed" else "exit"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "RAY_DEDUP_LOGS": "0"})
    seen: dict = {}
    try:
        line = proc.stdout.readline()  # the driver's report, printed while its job is alive
        assert line, f"the driver printed nothing (rc={proc.wait(timeout=60)}):\n{proc.stderr.read()[-3000:]}"
        seen = json.loads(line)
        job = seen["job"]
        if ending == "killed":
            assert proc.poll() is None  # the job is still running: its actors are there
            assert len(job_actors(ray, job)) == 2, job_actors(ray, job)
            os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=120) == (-signal.SIGKILL if ending == "killed" else 0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
    # while the job ran: one translation and one semantic actor for its node, named with its job id
    node = ray.get_runtime_context().get_node_id()
    mine = sorted(n for n in seen["named"] if f"_{job}_" in n)
    assert [n.split("_")[2] for n in mine] == ["semantic", "translation"] and all(n.endswith(f"_{job}_{node}")
                                                                                 for n in mine), seen["named"]
    assert seen["scores"][0] > 0 and seen["scores"][1] == pytest.approx(0.5)
    left = wait_gone(ray, job)
    for name in left:  # leave the session's cluster clean even when the check fails
        ray.kill(ray.get_actor(name, namespace=NAMESPACE))
    assert left == [], f"scoring actors of the finished job {job} are still on the cluster: {left}"
