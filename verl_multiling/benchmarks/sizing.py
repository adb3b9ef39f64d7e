"""Sizing arithmetic for the reward side of a training step: pure functions, no measurement.

The ``scaling`` area (:mod:`verl_multiling.benchmarks.scaling`) measures what one reward worker costs per
response on one CPU core and feeds it here; ``docs/scaling.md`` explains the results. Symbols:

* ``R`` responses per step (``data.train_batch_size x actor_rollout_ref.rollout.n``; AdaMame's
  published setting is 512 x 8 = 4,096), ``N`` nodes, ``R_node = ceil(R / N)``;
* ``c`` seconds of one reward worker (one core) per response, measured;
* ``T_gen`` seconds a step spends generating (an assumption until measured on the cluster);
* ``h`` headroom (>= 1): completions are not spread evenly over ``T_gen`` and the workers share the
  node's cores with vLLM's and Ray's own processes, so a worker should be busy at most ``1/h`` of it.

verl 0.9.1 scores each response as it finishes (``RewardLoopWorker``s picked at random, all nodes), so
scoring is hidden inside generation when the node's workers keep up:

    workers_per_node >= ceil(h x R_node x c / T_gen)

``reward.num_workers`` is the cluster-wide count (verl places the workers round-robin over the nodes),
so the override is ``workers_per_node x N``. A model-based scorer in a per-node service actor (COMET;
the semantic encoder) is sized the same way by its busy share of ``T_gen``: ``R_node x c_service / T_gen``
cores (CPU) or GPU share (GPU).
"""

from __future__ import annotations

import math

__all__ = [
    "busy_share",
    "per_node",
    "reward_seconds",
    "service_cpus",
    "step_extension",
    "training_gpu_share",
    "workers_needed",
    "workers_override",
]


def per_node(total: int, nodes: int) -> int:
    """Responses (or workers) one node gets when ``total`` is spread evenly over ``nodes``: ceil(total / nodes).

    >>> per_node(4096, 4)
    1024
    >>> per_node(10, 4)
    3
    """
    if nodes < 1:
        raise ValueError(f"nodes must be >= 1 (trainer.nnodes), got {nodes}")
    return math.ceil(total / nodes)


def reward_seconds(responses: int, per_response_s: float) -> float:
    """Seconds of reward work for ``responses`` on ONE worker (one core): ``R x c``.

    >>> reward_seconds(4096, 0.0005)
    2.048
    """
    if per_response_s < 0:
        raise ValueError(f"per_response_s must be >= 0, got {per_response_s}")
    return responses * per_response_s


def workers_needed(responses: int, per_response_s: float, gen_s: float, headroom: float = 1.0) -> int:
    """Reward workers that keep up with generation: ``ceil(h x R x c / T_gen)``, at least 1.

    ``responses`` is what these workers share (per node: ``per_node(R, N)``).

    >>> workers_needed(1024, 0.05, 60.0)            # 51.2 s of work in a 60 s generation phase
    1
    >>> workers_needed(1024, 0.05, 60.0, headroom=2.0)
    2
    >>> workers_needed(1024, 1.0, 60.0)             # 1 s per response: 1024 s of work
    18
    """
    if gen_s <= 0:
        raise ValueError(f"gen_s (generation seconds per step) must be > 0, got {gen_s}")
    if headroom < 1:
        raise ValueError(f"headroom must be >= 1, got {headroom}")
    return max(1, math.ceil(round(headroom * reward_seconds(responses, per_response_s) / gen_s, 9)))


def workers_override(workers_per_node: int, nodes: int) -> str:
    """The ``reward.num_workers`` override: a cluster-wide count, round-robin over the nodes.

    >>> workers_override(3, 4)
    'reward.num_workers=12'
    """
    return f"reward.num_workers={workers_per_node * nodes}"


def step_extension(responses: int, per_response_s: float, workers: int, gen_s: float) -> float:
    """Seconds the step waits for rewards after generation ends, at the least: ``max(0, R x c / W - T_gen)``
    (the workers' queue outlasts generation), and never less than one response's cost ``c`` (the last
    response to finish is scored after it finishes).

    >>> step_extension(1024, 0.05, 8, 60.0)         # 6.4 s of work per worker: hidden, but for the last response
    0.05
    >>> step_extension(1024, 1.0, 8, 60.0)          # 128 s per worker: 68 s added to the step
    68.0
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1 (reward.num_workers), got {workers}")
    return max(per_response_s, reward_seconds(responses, per_response_s) / workers - gen_s)


def busy_share(responses: int, per_response_s: float, gen_s: float) -> float:
    """Share of ``T_gen`` one scorer instance (one GPU, or one core) is busy: ``R x c / T_gen``.
    Above 1 it cannot keep up alone.

    >>> busy_share(1024, 0.002, 60.0) < 0.05
    True
    """
    if gen_s <= 0:
        raise ValueError(f"gen_s must be > 0, got {gen_s}")
    return reward_seconds(responses, per_response_s) / gen_s


def service_cpus(responses: int, per_response_s_one_core: float, gen_s: float, headroom: float = 1.0) -> int:
    """``num_cpus`` of a per-node CPU service actor (Ray sets its OMP_NUM_THREADS to this) that keeps up,
    assuming throughput grows linearly with threads (an upper bound on what threads give):
    ``ceil(h x R_node x c_1core / T_gen)``.

    >>> service_cpus(1024, 0.5, 60.0)
    9
    """
    return workers_needed(responses, per_response_s_one_core, gen_s, headroom)


def training_gpu_share(gpus_per_node: int, reserved: int) -> float:
    """Share of a node's GPUs lost to training when ``reserved`` whole GPUs host scoring services:
    ``reserved / gpus_per_node`` (verl reserves each training GPU as a whole placement-group bundle, so a
    fractional ``num_gpus`` service only fits on GPUs outside ``trainer.n_gpus_per_node``).

    >>> training_gpu_share(8, 1)
    0.125
    >>> training_gpu_share(8, 0)
    0.0
    """
    if not 0 <= reserved <= gpus_per_node:
        raise ValueError(f"reserved GPUs must be in [0, {gpus_per_node}], got {reserved}")
    return reserved / gpus_per_node
