"""The typed schema of every knob (``verl_multiling.config.knobs``): a sweep of wrong-type, non-finite, out-of-range and
misspelt values for every field and every recipe, through Hydra's own overrides, in-process and through
``python -m verl.trainer.main_ppo`` (each caught before Ray starts, naming the field); the generated docs and
the readers' dataclass defaults agree with the declarations."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verl_multiling.config import knobs
from verl_multiling.config.schema import Knob, Node, SettingsError, read

ROOT = Path(__file__).resolve().parent.parent
RECIPES = ("adamame", "reflection", "tapo", "pb_rlsvr")
KINDS = ("wrong_type", "non_finite", "out_of_range", "misspelt")


def all_knobs() -> list[tuple[str, Knob]]:
    return [(path, item) for root, spec in knobs.ROOTS.items() for path, item in spec.walk(root)
            if isinstance(item, Knob)]


def all_nodes() -> list[tuple[str, Node]]:
    return [(root, spec) for root, spec in knobs.ROOTS.items()] + [
        (path, item) for root, spec in knobs.ROOTS.items() for path, item in spec.walk(root) if isinstance(item, Node)]


def _hydra(value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return str(value)


def bad_value(knob: Knob, kind: str) -> str | None:
    """A Hydra override value of the given kind that the knob must refuse (None: the kind does not apply)."""
    if kind == "wrong_type":
        return {"bool": "maybe", "int": "lots", "float": "lots", "str": "12345", "codes": "7", "pairs": "7"}.get(
            knob.kind)
    if kind == "non_finite":
        if knob.kind in ("int", "float"):
            return "nan" if knob.kind == "float" else "1.5"  # an int knob refuses any non-integer
        if knob.kind == "pairs":
            return "[[0.0,nan]]"
        return None
    if kind == "out_of_range":
        if knob.kind in ("int", "float"):
            if knob.high is not None:
                return _hydra(knob.high * 10 + 1 if knob.high < 1e300 else math.inf)
            return _hydra(knob.low - 1) if knob.low is not None else None
        if knob.kind == "str" and knob.choices:
            return "no_such_choice"
        if knob.kind == "codes":
            return "[english]"
        if knob.kind == "pairs":
            return "[[0.0,-1.0]]"
    return None


def overrides_for(kind: str) -> dict[str, str]:
    """field -> override string, for every knob (or node, when misspelt) the kind applies to."""
    out = {}
    if kind == "misspelt":
        for path, node in all_nodes():
            first = next(iter(node.fields))
            out[f"{path}.{first}x"] = f"+{path}.{first}x=1"
        return out
    for path, knob in all_knobs():
        value = bad_value(knob, kind)
        if value is not None:
            out[path] = f"++{path}={value}"
    return out


def mixed_overrides() -> dict[str, str]:
    """One bad value per knob, the kinds taken in turn, plus one misspelt key per node (all in one command)."""
    out = {}
    for i, (path, knob) in enumerate(all_knobs()):
        for kind in KINDS[i % 3:3] + KINDS[:i % 3]:
            value = bad_value(knob, kind)
            if value is not None:
                out[path] = f"++{path}={value}"
                break
    out.update(overrides_for("misspelt"))
    return out


def test_every_knob_has_a_default_documentation_and_a_kind_that_can_fail():
    found = all_knobs()
    assert len(found) >= 80
    for path, knob in found:
        assert knob.doc.strip(), path
        if knob.kind != "any":  # task.extra_keys: a free mapping, checked by its reader
            assert any(bad_value(knob, kind) is not None for kind in KINDS[:3]), path
        if knob.kind == "float":
            assert knob.high is not None, f"{path}: a float knob needs an upper bound (1e308 must fail)"


def test_default_values_pass_their_own_knob():
    for root, spec in knobs.ROOTS.items():
        values, errors = read({}, spec, root)
        assert errors == []
        assert values == spec.defaults()


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_bundled_recipes_are_valid(compose, recipe):
    assert knobs.validate_config(compose([f"+recipe={recipe}"])) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_field_with_a_bad_value_is_named_in_one_report(compose, recipe, kind):
    """All of a kind's overrides at once, through Hydra's parser (so nan/inf/1e308 are what a user types):
    the report names every field, none hides another."""
    wanted = overrides_for(kind)
    assert len(wanted) >= (10 if kind == "misspelt" else 20)
    cfg = compose([f"+recipe={recipe}", *wanted.values()])
    named = {field for field, _ in knobs.validate_config(cfg)}
    missed = sorted(set(wanted) - named)
    assert not missed, missed


@pytest.mark.parametrize("override, field, hint", [
    ("+algorithm.adamame.bonuss=2", "algorithm.adamame.bonuss", "did you mean 'bonus'"),
    ("+multiling.math.timeout=1", "multiling.math.timeout", "did you mean 'timeout_s'"),
    ("++multiling.faults.retry=3", "multiling.faults.retry", "did you mean 'retries'"),
    ("+algorithm.adamme.bonus=1", "algorithm.adamme", "did you mean algorithm.adamame"),
    ("algorithm.adamame.bonus=1e308", "algorithm.adamame.bonus", "[0, 1000]"),
    ("algorithm.adamame.stages=[[0,0],[0.5,-1]]", "algorithm.adamame.stages", "y=-1"),
    ("multiling.faults.backoff_s=inf", "multiling.faults.backoff_s", "finite"),
    ("multiling.faults.breaker_cooldown_s=nan", "multiling.faults.breaker_cooldown_s", "finite"),
    ("multiling.math.timeout_s=inf", "multiling.math.timeout_s", "(0, 3600]"),
    ("multiling.languages=[fr,french]", "multiling.languages", "ISO 639-1"),
])
def test_the_cases_users_reported(compose, override, field, hint):
    found = dict(knobs.validate_config(compose(["+recipe=adamame", override])))
    assert field in found and hint in found[field], found


def test_a_misspelt_key_without_plus_is_refused_by_hydra(compose):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="timeout"):
        compose(["+recipe=adamame", "multiling.math.timeout=1"])


def test_readers_take_every_value_from_the_schema():
    """The dataclass defaults of the readers equal the declared defaults (no second copy can drift)."""
    from verl_multiling.config.multiling import MultilingConfig
    from verl_multiling.estimators.adamame import AdaMameConfig
    from verl_multiling.estimators.tapo import TapoAlgoConfig
    from verl_multiling.config.faults import FaultPolicy
    from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig
    from verl_multiling.rewards.reflection import ReflectionConfig
    from verl_multiling.rewards.tapo import TapoConfig
    from verl_multiling.rewards.task import TaskConfig

    assert MultilingConfig.from_config({}) == MultilingConfig()
    assert FaultPolicy.from_node({}) == FaultPolicy()
    assert TapoConfig.from_config({"multiling": {}}) == TapoConfig()
    assert PbRlsvrConfig.from_config({"multiling": {}}) == PbRlsvrConfig()
    assert ReflectionConfig.from_config({"multiling": {}}) == ReflectionConfig()
    assert TaskConfig.from_config({"multiling": {}}) == TaskConfig()
    assert AdaMameConfig.from_algorithm({}) == AdaMameConfig()
    assert TapoAlgoConfig.from_algorithm({}) == TapoAlgoConfig()


def test_a_reader_lists_every_error_of_its_node():
    from verl_multiling.estimators.adamame import AdaMameConfig

    with pytest.raises(SettingsError) as info:
        AdaMameConfig.from_algorithm({"adamame": {"bonus": math.nan, "epsilon": math.inf, "bonuss": 2}})
    assert [e.split(":")[0].split("=")[0] for e in info.value.errors] == [
        "algorithm.adamame.bonuss", "algorithm.adamame.bonus", "algorithm.adamame.epsilon"]


def test_docs_config_md_is_generated_from_the_schema():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text.rstrip("\n") == knobs.markdown().rstrip("\n"), \
        "docs/config.md is stale: run `python -m verl_multiling.config.knobs > docs/config.md`"
    for path, _ in all_knobs():
        node, name = path.rsplit(".", 1)
        assert f"## `{node}`" in text and f"| `{name}` |" in text


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_main_ppo_names_every_bad_field_before_ray_starts(tmp_path, recipe):
    """The real ``python -m verl.trainer.main_ppo +recipe=X`` with one bad value for every knob and a misspelt
    key (added with ``+``) in every node: exit 1 before Ray starts, every field named in one report."""
    wanted = mixed_overrides()
    env = dict(os.environ, HYDRA_FULL_ERROR="1")
    env.pop("VERL_MULTILING_SKIP_STARTUP_CHECK", None)
    proc = subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", f"+recipe={recipe}", *wanted.values(),
                           f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "found before any model loads" in proc.stderr
    assert "ray.init" not in proc.stderr and "Started a local Ray instance" not in proc.stderr
    missed = [field for field in wanted if f"  - {field}:" not in proc.stderr]
    assert not missed, (missed, proc.stderr[-3000:])


MISSPELT_ON_PURPOSE = {"algorithm.adamame.bonuss", "multiling.math.timeout"}  # the docs' examples of an error


def test_every_knob_the_docs_and_messages_name_exists():
    """A knob path written in the docs, the README, the launchers, the recipe YAMLs or an error message of the
    package is declared (a renamed knob cannot leave stale advice behind)."""
    import re

    declared = set(knobs.ROOTS) | {path for root, spec in knobs.ROOTS.items() for path, _ in spec.walk(root)}
    pattern = re.compile(r"(?<![\w/{])((?:multiling|algorithm\.adamame|algorithm\.tapo)(?:\.[a-z_]+)+)")
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "recipes").rglob("*.sh"),
             *(ROOT / "recipes").rglob("*.yaml"), *(ROOT / "recipes").rglob("*.md"),
             *(ROOT / "verl_multiling").rglob("*.py"), *(ROOT / "scripts").glob("*.py")]
    stale, seen = {}, 0
    for path in files:
        if path.name == "schema.py":  # its doctests misspell knobs on purpose
            continue
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            seen += 1
            name = match.group(1).rstrip(".")
            if name not in declared and name not in MISSPELT_ON_PURPOSE:
                stale.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert seen >= 100
    assert not stale, stale
    assert not MISSPELT_ON_PURPOSE & declared
