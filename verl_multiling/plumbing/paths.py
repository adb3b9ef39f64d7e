"""Where the plugin's files live, in an installed wheel or a source checkout (stdlib only).

The wheel installs the top-level ``recipes/`` folder as the package ``verl_multiling.recipes``; in
a source checkout (or a ``compat`` editable install) it is the ``recipes/`` folder beside the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # verl_multiling/ (this file is in plumbing/)
DATA_DIR = PACKAGE_DIR / "data"


def recipes_dir() -> Path:
    """The folder holding ``recipe/<name>.yaml`` and the launch scripts."""
    try:
        spec = importlib.util.find_spec("verl_multiling.recipes")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    checkout = PACKAGE_DIR.parent / "recipes"
    if (checkout / "recipe").is_dir():
        return checkout
    raise FileNotFoundError(
        f"verl_multiling's recipes are missing (looked for the verl_multiling.recipes package and {checkout}); "
        "reinstall this package (`pip install .` in its checkout)"
    )


def recipe_names() -> list[str]:
    """Names accepted by ``+recipe=NAME``."""
    return sorted(p.stem for p in (recipes_dir() / "recipe").glob("*.yaml"))
