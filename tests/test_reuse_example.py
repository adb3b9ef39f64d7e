"""The reuse contract of docs/reuse.md, run as written: another project's reward manager, defined outside this
package and selected by importlib, scored by verl's real RewardLoopManager in Ray reward workers, feeds
``adamame_align`` / ``adamame`` through the bridge trainer's real ``_compute_advantage`` over TransferQueue.

The manager's code is the docs page's ``my_project_reward.py`` block itself (written to a file here), and the
config is verl's plain ``ppo_trainer`` with no ``+recipe=``: only the estimator, trainer mode and reward
manager are overridden, as the page says.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

DOC = Path(__file__).resolve().parents[1] / "docs" / "reuse.md"
BLOCK = re.compile(r"```python\n(# my_project_reward\.py.*?)```", re.S)


def example_manager(tmp_path: Path) -> Path:
    blocks = BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "docs/reuse.md must hold exactly one my_project_reward.py example"
    path = tmp_path / "my_project_reward.py"
    path.write_text(blocks[0], encoding="utf-8")
    return path


def test_the_docs_example_names_what_the_test_runs():
    text = DOC.read_text(encoding="utf-8")
    for needed in ("reward.reward_manager.source=importlib", "reward.reward_manager.name=LastLineRewardManager",
                   "algorithm.adv_estimator=adamame_align", "trainer.v1.trainer_mode=multiling_sync",
                   "tests/test_reuse_example.py"):
        assert needed in text


def expected_advantages(r, m, uids, g_t, bonus=2.0, eps=1e-6, exploration=None):
    """s_i = r_i (1 + B g(t) m_i) [x a_i], then (s - mean_g) / (std_g + eps) with the unbiased std: by hand."""
    s = r * (1.0 + bonus * g_t * m) * (1.0 if exploration is None else exploration)
    out = np.zeros_like(s)
    for uid in set(uids):
        idx = np.array([u == uid for u in uids])
        group = s[idx]
        std = group.std(ddof=1) if len(group) > 1 else 1.0
        out[idx] = (group - group.mean()) / (std + eps)
    return out


def reuse_config(compose, module: Path, tokenizer_dir, estimator: str):
    """verl's plain ppo_trainer config with the page's overrides (no +recipe=)."""
    return compose([f"algorithm.adv_estimator={estimator}", "trainer.v1.trainer_mode=multiling_sync",
                    "reward.reward_manager.source=importlib", f"reward.reward_manager.module.path=file://{module}",
                    "reward.reward_manager.name=LastLineRewardManager",
                    f"actor_rollout_ref.model.path={tokenizer_dir}", "reward.num_workers=2"])


@pytest.fixture(scope="module")
def scored_by_outside_manager(tmp_path_factory, compose, tokenizer_dir, tokenizer, ray_cluster):
    """The bundled rollouts of three languages (6 prompt groups of 4) scored by the page's manager in verl's
    RewardLoopManager (2 Ray reward workers, the manager loaded by importlib from its file)."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    module = example_manager(tmp_path_factory.mktemp("outside"))
    cfg = reuse_config(compose, module, tokenizer_dir, "adamame_align")
    assert "multiling" not in cfg and cfg.reward.custom_reward_function.path is None  # verl's plain config
    rows = [r for r in load_rollouts() if r["lang"] in ("fr", "ja", "de")]
    data = build_dataproto(rows, tokenizer)
    return module, rows, data, RewardLoopManager(cfg).compute_rm_score(data)


@pytest.mark.ray
@pytest.mark.parametrize("estimator", ["adamame_align", "adamame"])
def test_an_outside_manager_feeds_the_estimators_through_the_bridge(scored_by_outside_manager, compose,
                                                                      tokenizer_dir, transfer_queue, estimator):
    from verl.trainer.ppo.v1 import get_trainer_cls
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    import verl_multiling.register  # noqa: F401  (verl imports it in every process through the entry point)

    module, rows, data, scored = scored_by_outside_manager
    cfg = reuse_config(compose, module, tokenizer_dir, estimator)
    info = scored.non_tensor_batch
    r = scored.batch["rm_scores"].sum(-1).numpy().astype(np.float64)
    m = info["lang_match"].astype(np.float64)
    assert set(r) == {0.0, 1.0} and set(m) == {0.0, 1.0}, "the sample must have right/wrong and matched/unmatched"

    # the rollouts as verl's agent loop leaves them in TransferQueue: token rewards and reward_extra_info
    tq = transfer_queue
    lengths = data.batch["response_mask"].sum(-1).tolist()
    keys = [f"reuse{estimator}{i // 4}_{i % 4}_0" for i in range(len(rows))]
    fields = []
    for i, (key, length) in enumerate(zip(keys, lengths, strict=True)):
        fields.append({
            "prompts": torch.tensor([1, 2, 3]), "responses": data.batch["responses"][i, :length],
            "response_mask": torch.ones(length, dtype=torch.int64),
            "rm_scores": scored.batch["rm_scores"][i, :length], "uid": key.rsplit("_", 2)[0],
            "extra_fields": {"reward_extra_info": {k: info[k][i] for k in scored.meta_info["reward_extra_keys"]}},
        })
    meta = tq.kv_batch_put(keys=keys, partition_id="train", fields=list_of_dict_to_tensordict(fields),
                           tags=[{"status": "success"}] * len(keys))
    trainer = object.__new__(get_trainer_cls("multiling_sync"))
    trainer.config = cfg
    trainer.global_steps, trainer.total_training_steps = 50, 100
    metrics: dict = {}
    trainer._compute_advantage(meta, metrics)
    adv = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["advantages"])["advantages"]
    got = np.array([float(row[0]) for row in adv.unbind()])
    assert all(torch.allclose(row, row[0].expand_as(row)) for row in adv.unbind()), "one advantage per response"

    uids = [k.rsplit("_", 2)[0] for k in keys]
    g_t = max(0.5 * (1 - math.cos(math.pi * 50 / 100)), 0.1)  # the cosine schedule at t = T/2
    exploration = None
    if estimator == "adamame":  # a_i = 1 + (G / n_{g,l_i} - 1) * 1/2 (1 + cos(pi t / T)), 1 for an unknown l_i
        anneal = 0.5 * (1 + math.cos(math.pi * 50 / 100))
        langs = list(info["response_lang"])
        exploration = np.array([1.0 if not langs[i] else
                                1 + (4 / sum(uids[j] == uids[i] and langs[j] == langs[i] for j in range(len(uids)))
                                     - 1) * anneal for i in range(len(uids))])
    want = expected_advantages(r, m, uids, g_t, exploration=exploration)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got).max() > 0.5
    # the bridge's per-language means of the outside manager's keys
    for lang in ("fr", "ja", "de"):
        mask = np.array([row["lang"] == lang for row in rows])
        assert metrics[f"multiling/{lang}/acc"] == pytest.approx(r[mask].mean())
        assert metrics[f"multiling/{lang}/lang_match"] == pytest.approx(m[mask].mean())
