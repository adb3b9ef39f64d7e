"""The per-sample bridge: pure helpers, verl's internals it relies on, and a real TransferQueue run."""

import functools
import inspect

import numpy as np
import pytest
import torch

from verl_multiling.bridge.per_sample import (
    BRIDGE_TRAINER_MODES,
    accepted_kwargs,
    bound_estimator,
    per_language_metrics,
    reward_extra_columns,
)


def test_accepted_kwargs_needs_explicit_names():
    def plain(token_level_rewards, response_mask, index=None, config=None, **kwargs): ...

    def wants(token_level_rewards, response_mask, reward_extra_info=None, total_steps=None, **kwargs): ...

    assert accepted_kwargs(plain) == ()
    assert accepted_kwargs(wants) == ("reward_extra_info", "total_steps")
    assert accepted_kwargs(functools.partial(wants, total_steps=3)) == ("reward_extra_info", "total_steps")


def test_bound_estimator_restores_the_registry_even_on_error():
    def est(x, global_step=None):
        return x, global_step

    registry = {"e": est}
    with bound_estimator(registry, "e", global_step=7):
        assert registry["e"](1) == (1, 7)
    assert registry["e"] is est
    with pytest.raises(RuntimeError), bound_estimator(registry, "e", global_step=7):
        raise RuntimeError
    assert registry["e"] is est


def test_reward_extra_columns_and_language_metrics():
    fields = [
        {"reward_extra_info": {"acc": 1.0, "lang_match": 1.0, "query_lang": "fr", "answer_reason": "x"}},
        {"reward_extra_info": {"acc": 0.0, "lang_match": 0.0, "query_lang": "fr", "answer_reason": "y"}},
        {"reward_extra_info": {"acc": 1.0, "lang_match": 0.0, "query_lang": "ja", "answer_reason": "x"}},
        "not a dict",
    ]
    cols = reward_extra_columns(fields)
    assert cols["acc"].tolist() == [1.0, 0.0, 1.0, None]
    m = per_language_metrics(cols, np.array([10, 30, 50, 70]))
    assert m["multiling/fr/acc"] == 0.5
    assert m["multiling/ja/lang_match"] == 0.0
    assert m["multiling/fr/response_length"] == 20.0
    assert m["multiling/unknown/response_length"] == 70.0
    assert "multiling/unknown/acc" not in m  # None only: no mean
    assert not any("answer_reason" in k for k in m)  # strings are not averaged


# ---- verl internals the bridge relies on: these fail loudly when a verl upgrade moves them ----


def test_contract_verl_trainer_internals():
    from verl.trainer.ppo import core_algos
    from verl.trainer.ppo.v1 import PPOTrainer, PPOTrainerColocateAsync, PPOTrainerSeparateAsync, PPOTrainerSync
    from verl.trainer.ppo.v1 import trainer_base

    init_src = inspect.getsource(PPOTrainer.__init__)
    assert "self.trainer_mode = self.config.trainer.v1.trainer_mode" in init_src
    adv_src = inspect.getsource(PPOTrainer._compute_advantage)
    assert list(inspect.signature(PPOTrainer._compute_advantage).parameters) == ["self", "batch", "metrics"]
    assert "compute_advantage_for_multi_trajectories" in adv_src
    assert "tq.kv_batch_get" in adv_src
    for cls in (PPOTrainerSync, PPOTrainerColocateAsync, PPOTrainerSeparateAsync):
        assert "_compute_advantage" not in cls.__dict__, f"{cls.__name__} now overrides _compute_advantage"
    # the estimator is looked up by name in the registry at call time
    assert "ADV_ESTIMATOR_REGISTRY[name]" in inspect.getsource(core_algos.get_adv_estimator_fn)
    from verl.trainer.ppo import ray_trainer

    assert "get_adv_estimator_fn(adv_estimator)" in inspect.getsource(ray_trainer.compute_advantage)
    # global step and T live on the trainer
    assert "self.global_steps" in inspect.getsource(PPOTrainer.fit)
    assert "self.total_training_steps = total_training_steps" in inspect.getsource(PPOTrainer._init_dataloader)
    # the modes whose semantics the bridge trainers keep
    assert {"sync", "colocate_async", "separate_async"} <= set(trainer_base.TRAINER_REGISTRY)


def test_contract_reward_extra_info_travels_in_extra_fields():
    from verl.trainer.ppo.v1 import agent_loop_tq
    from verl.experimental.agent_loop import agent_loop

    assert 'extra_fields["reward_extra_info"] = result["reward_extra_info"]' in inspect.getsource(agent_loop)
    assert "field = output.as_dict()" in inspect.getsource(agent_loop_tq)


def test_bridge_trainers_registered_with_base_semantics():
    from verl.trainer.ppo.v1 import get_trainer_cls

    import verl_multiling.register  # noqa: F401

    for registered, mode in BRIDGE_TRAINER_MODES.items():
        cls = get_trainer_cls(registered)
        obj = object.__new__(cls)
        obj.trainer_mode = registered  # what PPOTrainer.__init__ does
        assert obj.trainer_mode == mode
        assert obj.registered_trainer_mode == registered
        assert issubclass(cls, get_trainer_cls(mode))


# ---- the real _compute_advantage over a real TransferQueue ----


def _put_rollouts(tq, keys, rewards, infos, lengths):
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    fields = []
    for key, r, info, length in zip(keys, rewards, infos, lengths, strict=True):
        rm = torch.zeros(length)
        rm[-1] = r
        fields.append({
            "prompts": torch.tensor([1, 2, 3]), "responses": torch.arange(length),
            "response_mask": torch.ones(length, dtype=torch.int64), "rm_scores": rm,
            "uid": key.rsplit("_", 2)[0], "extra_fields": {"reward_extra_info": info},
        })
    return tq.kv_batch_put(keys=keys, partition_id="train", fields=list_of_dict_to_tensordict(fields),
                           tags=[{"status": "success"}] * len(keys))


@pytest.mark.ray
def test_bridge_compute_advantage_through_transfer_queue(transfer_queue, adamame_cfg):
    from verl.trainer.ppo.v1 import get_trainer_cls

    import verl_multiling.register  # noqa: F401

    tq = transfer_queue
    keys = ["p0_0_0", "p0_1_0", "p0_2_0", "p0_3_0"]
    rewards = [1.0, 1.0, 0.0, 1.0]
    infos = [{"acc": r, "lang_match": m, "response_lang": lang, "query_lang": "fr"}
             for r, m, lang in zip(rewards, (1.0, 0.0, 1.0, 0.0), ("fr", "en", "fr", "en"), strict=True)]
    meta = _put_rollouts(tq, keys, rewards, infos, [3, 4, 5, 6])
    trainer = object.__new__(get_trainer_cls("multiling_sync"))
    trainer.config = adamame_cfg
    trainer.global_steps, trainer.total_training_steps = 50, 100
    metrics = {}
    trainer._compute_advantage(meta, metrics)
    adv = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["advantages"])["advantages"]
    scalars = torch.stack([row[0] for row in adv.unbind()])
    std = np.sqrt(2 / 3)  # s = [2, 1, 0, 1] at g(T/2) = 0.5, B = 2
    assert torch.allclose(scalars.double(), torch.tensor([1 / std, 0.0, -1 / std, 0.0], dtype=torch.float64), atol=1e-5)
    assert metrics["multiling/fr/acc"] == 0.75
    assert metrics["multiling/fr/lang_match"] == 0.5
    assert metrics["multiling/fr/response_length"] == 4.5
    from verl.trainer.ppo import core_algos
    from verl_multiling.estimators.adamame import compute_adamame_align_advantage

    assert core_algos.ADV_ESTIMATOR_REGISTRY["adamame_align"] is compute_adamame_align_advantage


@pytest.mark.ray
def test_bridge_leaves_other_estimators_untouched(transfer_queue, compose):
    from verl.trainer.ppo.v1 import get_trainer_cls

    import verl_multiling.register  # noqa: F401

    tq = transfer_queue
    cfg = compose(["+recipe=adamame", "algorithm.adv_estimator=grpo_vectorized"])
    keys = ["q1_0_0", "q1_1_0"]
    meta = _put_rollouts(tq, keys, [1.0, 0.0], [{"acc": 1.0, "lang": "de"}, {"acc": 0.0, "lang": "de"}], [2, 3])
    trainer = object.__new__(get_trainer_cls("multiling_sync"))
    trainer.config = cfg
    trainer.global_steps, trainer.total_training_steps = 1, 10
    metrics = {}
    trainer._compute_advantage(meta, metrics)
    adv = tq.kv_batch_get(keys=keys, partition_id="train", select_fields=["advantages"])["advantages"]
    assert [round(float(row[0]), 4) for row in adv.unbind()] == [0.7071, -0.7071]
    assert metrics["multiling/de/acc"] == 0.5
