"""The wheel ships every subpackage, the recipes and the bundled data."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "verl_multiling").rglob("__init__.py")}
    missing = found - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"


def test_recipes_and_launchers_exist():
    from verl_multiling.paths import recipe_names, recipes_dir

    assert "adamame" in recipe_names()
    for script in ("run_grpo_1gpu.sh", "run_grpo_multinode_fsdp.sh", "run_grpo_multinode_megatron.sh"):
        text = (recipes_dir() / "adamame" / script).read_text()
        assert "+recipe=adamame" in text and "set -euo pipefail" in text


def test_license_is_an_spdx_expression():
    """A table ``license = {text = ...}`` makes setuptools >= 77 print a deprecation warning on every build."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    requires = " ".join(project["build-system"]["requires"])
    assert "setuptools>=77" in requires  # the first setuptools that reads an SPDX license string

