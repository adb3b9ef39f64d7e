"""Shared fixtures: the composed +recipe=adamame config, an offline tokenizer, a local Ray cluster."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# helper modules shared by test files (smoke_runs.py, ...): importable by name under --import-mode=importlib
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


SMOKE_GROUP = "smoke_main_ppo"
SMOKE_FILES = frozenset({"test_e2e_recipes.py", "test_e2e_trainer_modes.py"})
"""The files whose tests run ``verl-multiling smoke``: main_ppo with a tiny Qwen2 (the sampled run's 151,665-token
logits need a 4 GB log-prob worker). Under ``-n 2 --dist loadgroup`` they share one xdist group, so no two of them
overlap on a 24 GB machine (the miniature's two main_ppo arms may run on the other worker); every other file is its
own group (as ``--dist loadfile`` would make it)."""


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks (--dist loadgroup)
def pytest_collection_modifyitems(config, items):
    # The longest files first (their e2e runs take minutes): with ``-n 2`` (and --no-loadscope-reorder, in
    # pyproject's addopts) they start at once and the short files fill in around them, instead of a long file
    # starting last. Stable sort: the order within each group is kept.
    items.sort(key=lambda item: "e2e" not in item.keywords)
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group(SMOKE_GROUP if name in SMOKE_FILES else name))
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def compose():
    from verl_multiling.preflight.compose import compose_config

    return compose_config


@pytest.fixture(scope="session")
def adamame_cfg(compose):
    return compose(["+recipe=adamame"])


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    from verl_multiling.plumbing.offline_tokenizer import offline_tokenizer_dir

    return offline_tokenizer_dir()


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tokenizer_dir))


@pytest.fixture(scope="session")
def reward_loop_cfg(compose, tokenizer_dir):
    """A recipe's config ready for verl's reward loop on CPU: the offline tokenizer, 2 reward workers."""

    def make(*overrides: str):
        return compose([*overrides, f"actor_rollout_ref.model.path={tokenizer_dir}", "reward.num_workers=2"])

    return make


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    if not ray.is_initialized():  # address="local": a new cluster, never one another job left on this machine
        ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def transfer_queue(ray_cluster):
    import transfer_queue as tq
    from omegaconf import OmegaConf

    tq.init(OmegaConf.create({"backend": {"storage_backend": "SimpleStorage",
                                          "SimpleStorage": {"total_storage_size": 4096,
                                                            "num_data_storage_units": 1}}}))
    yield tq
    tq.close()
