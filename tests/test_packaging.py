"""The wheel ships every subpackage, the recipes and the bundled data."""

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "verl_multiling").rglob("__init__.py")}
    missing = found - listed
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"


def test_recipes_and_launchers_exist():
    from verl_multiling.plumbing.paths import recipe_names, recipes_dir

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



@pytest.mark.slow
def test_setup_registration_check_prints_labelled_lists():
    """The check at the end of scripts/setup.sh, run as setup.sh runs it: one labelled list per kind, no
    name twice, and none of verl's import-time noise."""
    import re
    import subprocess
    import sys

    script = (ROOT / "scripts" / "setup.sh").read_text()
    check = re.search(r"<<'PY'\n(.*?)\nPY\n", script, re.S).group(1)
    out = subprocess.run([sys.executable, "-"], input=check, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    line = out.stdout.strip()
    assert line.startswith("verl_multiling installed and registered in verl: estimators: "), line
    kinds = dict(part.split(": ", 1) for part in line.split("verl: ", 1)[1].split("; "))
    assert list(kinds) == ["estimators", "reward managers", "trainers"]
    for names in kinds.values():
        listed = names.split(", ")
        assert len(listed) == len(set(listed)), line
    assert "engine is not available" not in out.stderr and "No supported accelerator" not in out.stderr
