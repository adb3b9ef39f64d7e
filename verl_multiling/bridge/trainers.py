"""V1 trainers that add the per-sample bridge to verl's sync and async trainers.

Registered names (select with ``trainer.v1.trainer_mode``):

==========================  ==============================  =====================
registered mode             verl trainer it extends          behaves as mode
==========================  ==============================  =====================
``multiling_sync``          ``PPOTrainerSync``               ``sync``
``multiling_colocate_async`` ``PPOTrainerColocateAsync``     ``colocate_async``
``multiling_separate_async`` ``PPOTrainerSeparateAsync``     ``separate_async``
==========================  ==============================  =====================

verl's ``PPOTrainer`` branches on ``self.trainer_mode == "sync"`` (replay buffer class, refill,
parameter sync) and reads ``trainer.v1.<mode>`` settings, so each bridge trainer reports the mode
it extends as ``trainer_mode``: the registered name only selects the class.

The verl internals relied on (``tests/test_bridge.py`` fails if they move):
``PPOTrainer.__init__`` assigns ``self.trainer_mode``; ``PPOTrainer._compute_advantage(batch,
metrics)`` looks the estimator up through ``core_algos.get_adv_estimator_fn`` (via
``compute_advantage``); each sample's ``reward_extra_info`` sits in TransferQueue under
``extra_fields``; ``self.global_steps`` and ``self.total_training_steps`` hold t and T.
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

import numpy as np
import torch
import transfer_queue as tq
from omegaconf import OmegaConf
from verl.trainer.ppo import core_algos
from verl.trainer.ppo.v1 import (
    PPOTrainerColocateAsync,
    PPOTrainerSeparateAsync,
    PPOTrainerSync,
    register_trainer,
)

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.config.faults import FaultPolicy, check_error_rate, fault_metrics
from verl_multiling.bridge.per_sample import (
    BRIDGE_TRAINER_MODES,
    METRIC_PREFIX,
    accepted_kwargs,
    bound_estimator,
    per_language_metrics,
    reward_extra_columns,
)

logger = logging.getLogger(__name__)


class PerSampleBridgeMixin:
    """Mixin over a verl V1 trainer: per-sample data to estimators, per-language and fault metrics to logs,
    and the stop rule of :mod:`verl_multiling.config.faults` (``multiling.faults.max_error_rate``)."""

    base_trainer_mode: ClassVar[str]

    @property
    def trainer_mode(self) -> str:
        return self.base_trainer_mode

    @trainer_mode.setter
    def trainer_mode(self, registered_name: str) -> None:
        # verl assigns config.trainer.v1.trainer_mode (our registered name); keep it for logs only.
        self.registered_trainer_mode = registered_name

    @property
    def fault_policy(self) -> FaultPolicy:
        """``multiling.faults`` (validated at startup; a config without the node gets the defaults)."""
        policy = getattr(self, "_fault_policy", None)
        if policy is None:
            policy = self._fault_policy = MultilingConfig.from_config(self.config).faults
        return policy

    def _compute_advantage(self, batch, metrics: dict):
        columns, response_length = self._fetch_reward_extra_info(batch)
        metrics.update(per_language_metrics(columns, response_length))
        metrics.update(fault_metrics(columns))
        check_error_rate(columns, self.fault_policy, int(self.global_steps))
        name = self.config.algorithm.adv_estimator
        estimator = core_algos.get_adv_estimator_fn(name)
        wanted = accepted_kwargs(estimator)
        available = {
            "reward_extra_info": columns,
            "global_step": int(self.global_steps),
            "total_steps": int(self.total_training_steps),
        }
        metrics[f"{METRIC_PREFIX}/bridge/global_step"] = available["global_step"]
        metrics[f"{METRIC_PREFIX}/bridge/total_steps"] = available["total_steps"]
        if wanted:
            with bound_estimator(core_algos.ADV_ESTIMATOR_REGISTRY, name, **{k: available[k] for k in wanted}):
                batch = super()._compute_advantage(batch, metrics)
        else:
            batch = super()._compute_advantage(batch, metrics)
        self._dump_advantages(batch, columns, available)
        return batch

    def _dump_advantages(self, batch, columns: dict[str, np.ndarray], available: dict) -> None:
        """With ``multiling.debug.advantage_dump_dir`` set: what verl stored for this step, for audits.

        Writes ``step_<t>.pt`` holding the advantages verl will train on (read back from TransferQueue),
        the rewards and response mask they came from, each sample's uid and reward_extra_info columns,
        and the t and T the estimator was given. The file appears whole (written aside, then renamed).
        """
        directory = OmegaConf.select(self.config, "multiling.debug.advantage_dump_dir", default=None)
        if not directory:
            return
        data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                               select_fields=["uid", "advantages", "rm_scores", "response_mask"])
        record = {
            "estimator": str(self.config.algorithm.adv_estimator),
            "global_step": available["global_step"],
            "total_steps": available["total_steps"],
            "uid": [str(u) for u in _as_list(data["uid"])],
            "advantages": data["advantages"].to_padded_tensor(0.0).cpu(),
            "token_level_rewards": data["rm_scores"].to_padded_tensor(0.0).cpu(),
            "response_mask": data["response_mask"].to_padded_tensor(0).cpu(),
            "reward_extra_info": dict(columns),  # the very columns the estimator was given
        }
        os.makedirs(directory, exist_ok=True)
        target = os.path.join(directory, f"step_{available['global_step']}.pt")
        torch.save(record, target + ".tmp")
        os.replace(target + ".tmp", target)

    def _fetch_reward_extra_info(self, batch) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Each sample's reward_extra_info as columns, and each response's length, in batch order."""
        data = tq.kv_batch_get(
            keys=batch.keys, partition_id=batch.partition_id, select_fields=["extra_fields", "response_mask"]
        )
        extra_fields = _as_list(data["extra_fields"])
        response_length = data["response_mask"].to_padded_tensor(0).sum(-1).cpu().numpy()
        return reward_extra_columns(extra_fields), response_length


def _as_list(values) -> list:
    """A TransferQueue non-tensor field (numpy array, tensordict stack or list) as a list."""
    return list(values.tolist() if hasattr(values, "tolist") else values)


def _bridge_trainer(base: type, mode: str, registered: str) -> type:
    cls = type(
        f"Multiling{base.__name__}",
        (PerSampleBridgeMixin, base),
        {
            "base_trainer_mode": mode,
            "__doc__": f"verl's {base.__name__} (mode {mode!r}) with the verl_multiling per-sample bridge.",
            "__module__": __name__,
        },
    )
    return register_trainer(registered)(cls)


_VERL_TRAINERS = {"sync": PPOTrainerSync, "colocate_async": PPOTrainerColocateAsync,
                  "separate_async": PPOTrainerSeparateAsync}
BRIDGE_TRAINERS: dict[str, Any] = {
    registered: _bridge_trainer(_VERL_TRAINERS[mode], mode, registered)
    for registered, mode in BRIDGE_TRAINER_MODES.items()
}
