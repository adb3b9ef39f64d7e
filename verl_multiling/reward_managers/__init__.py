"""verl reward-loop managers of verl_multiling, one module per recipe.

Select one with (the recipes do this)::

    reward.reward_manager.source=importlib
    reward.reward_manager.module.path=pkg://verl_multiling.reward_managers
    reward.reward_manager.name=AdaMameRewardManager

or by registry name (``reward.reward_manager.name=adamame``) once the plugin is installed.
Importing this package also registers the plugin's estimators and trainers, and under ``VERL_PLATFORM=cpu``
the CPU backend first (:mod:`verl_multiling.bridge.registration`), so the importlib route fails loudly
when the install is broken.
"""

from verl_multiling.bridge.registration import register_cpu_backend, register_estimators, register_trainers

register_cpu_backend()
register_estimators()
register_trainers()

from verl_multiling.reward_managers.adamame import AdaMameRewardManager
from verl_multiling.reward_managers.base import MultilingRewardManager
from verl_multiling.reward_managers.pb_rlsvr import PbRlsvrRewardManager
from verl_multiling.reward_managers.reflection import ReflectionRewardManager
from verl_multiling.reward_managers.tapo import TapoRewardManager

__all__ = ["AdaMameRewardManager", "MultilingRewardManager", "PbRlsvrRewardManager", "ReflectionRewardManager",
           "TapoRewardManager"]
