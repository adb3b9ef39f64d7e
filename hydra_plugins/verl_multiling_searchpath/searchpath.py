"""Adds verl_multiling's recipe configs to every Hydra app's search path.

With the plugin installed, ``python -m verl.trainer.main_ppo +recipe=adamame`` finds
``recipe/adamame.yaml`` in the installed ``verl_multiling.recipes`` package (or the checkout's
``recipes/`` folder). Hydra imports every module under ``hydra_plugins`` when it starts, so this
file imports nothing heavy: ``verl_multiling.plumbing.paths`` is stdlib only.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PROVIDER = "verl-multiling"


class VerlMultilingSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from verl_multiling.plumbing.paths import recipes_dir

        search_path.append(provider=PROVIDER, path=f"file://{recipes_dir()}")
