"""The benchmarks' one entry point (``python -m verl_multiling.benchmarks AREA``, in
verl_multiling/benchmarks/__init__.py): it lists every area, rejects a misspelt one naming the valid ones, forwards to the area's own CLI, and
scripts/benchmark.py is only a launcher for it. Nothing here measures anything or imports verl."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from verl_multiling import benchmarks
from verl_multiling.benchmarks import AREAS, main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "verl_multiling" / "benchmarks"


def _defines_main(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)


def test_every_module_with_a_main_is_an_area():
    """An area is a module of the package with a main(argv); the helpers and sections have none."""
    with_main = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("__") and _defines_main(p)}
    assert with_main == set(AREAS)


def test_help_lists_every_area_with_its_description(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "verl_multiling.benchmarks", "--help"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)  # any directory: nothing comes from the checkout
    assert proc.returncode == 0, proc.stderr
    listed = dict(re.findall(r"^  (\w+) +(.+)$", proc.stdout, re.M))
    assert list(listed) == list(AREAS)
    assert all(listed[area] == benchmarks.describe(area) != "" for area in AREAS)


def test_no_area_lists_them_too(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(f"  {area} " in out for area in AREAS)


@pytest.mark.parametrize("argv,expected", [(["bound"], "unknown area 'bound' (did you mean bounds?)"),
                                           (["--only", "estimators"], "name an area first")])
def test_a_misspelt_area_exits_2_naming_the_valid_ones(argv, expected, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert f"valid areas: {', '.join(AREAS)}" in err


def test_the_area_gets_its_arguments_and_its_command_as_prog(capsys):
    """bounds imports nothing heavy at module level: its --help is cheap to run in this process."""
    argv0 = sys.argv[:1]
    with pytest.raises(SystemExit) as stop:
        main(["bounds", "--help"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m verl_multiling.benchmarks bounds [-h]")
    assert sys.argv[:1] == argv0  # restored


def test_scripts_benchmark_forwards_to_the_entry_point(tmp_path):
    launcher = ROOT / "scripts" / "benchmark.py"
    proc = subprocess.run([sys.executable, str(launcher), "--help"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all(f"  {area} " in proc.stdout for area in AREAS)
    bad = subprocess.run([sys.executable, str(launcher), "versus_verll"], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert bad.returncode == 2 and "did you mean versus_verl?" in bad.stderr
    assert len(launcher.read_text(encoding="utf-8").splitlines()) < 20  # a launcher, not a benchmark


def test_the_package_does_not_reach_into_the_checkout():
    """Child processes start the package, data comes from it: no path built from __file__ up to the repository
    root, no scripts/ folder, no runpy of a sibling file, no PYTHONPATH tweak."""
    pattern = re.compile(r"runpy|parents\[1\]|parent\.parent|[\"']scripts[\"']|PYTHONPATH|sys\.path\.insert")
    offenders = [f"{p.name}:{n}: {line.strip()}" for p in sorted(PACKAGE.glob("*.py"))
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
