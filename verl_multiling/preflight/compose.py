"""Compose the very config ``python -m verl.trainer.main_ppo`` would, with Hydra's compose API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

VERL_PRIMARY_CONFIG = "ppo_trainer"


def verl_config_dir() -> Path:
    import verl.trainer.main_ppo as main_ppo

    return Path(main_ppo.__file__).resolve().parent / "config"


def compose_config(overrides: Sequence[str], config_name: str = VERL_PRIMARY_CONFIG) -> DictConfig:
    """main_ppo's config with ``overrides`` (e.g. ``["+recipe=adamame", "data.train_files=..."]``).

    The verl_multiling search-path plugin applies here as in main_ppo, so ``+recipe=NAME`` works.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(verl_config_dir()), version_base=None):
        return compose(config_name=config_name, overrides=list(overrides))
