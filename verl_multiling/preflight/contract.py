"""The contract between advantage estimators and reward managers, checked before any model loads.

Our estimators read per-sample columns of ``reward_extra_info`` that only some reward managers write
(``tapo`` reads r_trans and u_tokens, which only ``TapoRewardManager`` writes). A mismatched pair used to
pass every startup check and stop with a KeyError at the first advantage computation, after the models
had loaded and the first rollouts were generated. This module declares both sides as data:

* an estimator's needs (:data:`ESTIMATOR_NEEDS`, :func:`estimator_needs`): the ``reward_extra_info`` keys it
  reads under the given ``algorithm`` node, and the per-sample inputs the bridge passes it
  (:data:`verl_multiling.bridge.per_sample.PER_SAMPLE_KWARGS`). verl's own estimators (grpo, gae, ...) need
  nothing;
* a manager's writes (:func:`manager_writes`): for a subclass of
  :class:`~verl_multiling.reward_managers.base.MultilingRewardManager`, the keys of its ``extra_keys`` schema
  (the columns every sample carries) plus ``reward_error``; a manager of someone else's declares nothing,
  so its keys cannot be checked (a warning).

:func:`check_contract` compares them for a composed config: estimator needs ⊆ manager writes, and, when
``multiling.recipe`` names one of our recipes, the manager is that recipe's (another recipe's manager would
silently ignore the recipe's ``multiling.<recipe>`` reward settings). ``tests/test_contract.py`` runs every
manager on bundled rollouts and every estimator on exactly its declared keys, so the declarations cannot drift
from the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from verl_multiling.bridge.per_sample import PER_SAMPLE_KWARGS
from verl_multiling.config.confnode import node_get as _get
from verl_multiling.estimators.adamame import LANG_MATCH_KEY, RESPONSE_LANG_KEY
from verl_multiling.estimators.tapo import R_FMT_KEY, R_TRANS_KEY, U_TOKENS_KEY
from verl_multiling.config.knobs import RECIPES
from verl_multiling.preflight.findings import Finding

FIELD_ESTIMATOR = "algorithm.adv_estimator"
FIELD_MANAGER = "reward.reward_manager.name"
# every manager of ours writes it (0 normally, 1 when scoring the rollout raised)
ALWAYS_WRITTEN = ("reward_error",)


@dataclass(frozen=True)
class EstimatorNeeds:
    """What one estimator reads beyond verl's token_level_rewards, response_mask, index and config."""

    extra_info: tuple[str, ...]  # reward_extra_info keys, in the order the estimator reads them
    bridge: tuple[str, ...]  # per-sample keyword inputs the bridge passes (a subset of PER_SAMPLE_KWARGS)


_BRIDGE_ALL = PER_SAMPLE_KWARGS  # reward_extra_info, global_step, total_steps
#: our estimators' needs with every optional read switched on (tapo: mode=step and format_weight != 0);
#: :func:`estimator_needs` narrows them to a given ``algorithm`` node.
ESTIMATOR_NEEDS: dict[str, EstimatorNeeds] = {
    "adamame_align": EstimatorNeeds((LANG_MATCH_KEY,), _BRIDGE_ALL),  # m_i
    "adamame": EstimatorNeeds((LANG_MATCH_KEY, RESPONSE_LANG_KEY), _BRIDGE_ALL),  # m_i and l_i
    "tapo": EstimatorNeeds((R_TRANS_KEY, U_TOKENS_KEY, R_FMT_KEY), ("reward_extra_info",)),  # r_trans, |U|, r_fmt
}


def estimator_needs(name: str, algorithm: Any = None) -> EstimatorNeeds | None:
    """The needs of estimator ``name`` under the ``algorithm`` node; None for an estimator that is not ours.

    ``tapo`` reads u_tokens only in ``algorithm.tapo.mode: step`` (the contrast baseline has no U/R split)
    and r_fmt only when ``algorithm.tapo.format_weight`` is not 0; a value of the wrong type there is
    reported by the estimator's own check, and the full set is assumed.

    >>> estimator_needs("tapo").extra_info
    ('r_trans', 'u_tokens')
    >>> estimator_needs("tapo", {"tapo": {"mode": "contrast", "format_weight": 0.5}}).extra_info
    ('r_trans', 'r_fmt')
    >>> estimator_needs("grpo") is None
    True
    """
    needs = ESTIMATOR_NEEDS.get(str(name))
    if needs is None or name != "tapo":
        return needs
    node = _get(algorithm, "tapo", None) or {}
    mode = _get(node, "mode", "step")
    weight = _get(node, "format_weight", 0.0)
    keys = [R_TRANS_KEY]
    if mode != "contrast":
        keys.append(U_TOKENS_KEY)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight != 0:
        keys.append(R_FMT_KEY)
    return EstimatorNeeds(tuple(keys), needs.bridge)


def manager_writes(manager_cls: type) -> tuple[str, ...] | None:
    """The ``reward_extra_info`` keys every sample of ``manager_cls`` carries; None when it is not ours.

    >>> from verl_multiling.reward_managers import TapoRewardManager
    >>> {"r_trans", "u_tokens", "r_fmt", "reward_error"} <= set(manager_writes(TapoRewardManager))
    True
    """
    from verl_multiling.reward_managers.base import MultilingRewardManager

    if not (isinstance(manager_cls, type) and issubclass(manager_cls, MultilingRewardManager)):
        return None
    return tuple(dict.fromkeys((*manager_cls.extra_keys, *ALWAYS_WRITTEN)))


@dataclass(frozen=True)
class RecipePair:
    """The estimator and reward manager a recipe (``recipes/recipe/<name>.yaml``) pairs."""

    recipe: str
    estimator: str
    manager: str  # class name in verl_multiling.reward_managers


@lru_cache(maxsize=1)
def recipe_pairs() -> tuple[RecipePair, ...]:
    """Each RL recipe's pair, read from its YAML file (so it cannot disagree with the recipe)."""
    from omegaconf import OmegaConf

    from verl_multiling.plumbing.paths import recipes_dir

    out = []
    for recipe in RECIPES:
        node = OmegaConf.load(recipes_dir() / "recipe" / f"{recipe}.yaml")
        out.append(RecipePair(recipe, str(node.algorithm.adv_estimator), str(node.reward.reward_manager.name)))
    return tuple(out)


def _our_manager(class_name: str) -> type | None:
    import verl_multiling.reward_managers as managers

    cls = getattr(managers, class_name, None)
    return cls if isinstance(cls, type) else None


def check_contract(cfg: Any) -> list[Finding]:
    """``algorithm.adv_estimator`` against the reward manager ``reward.reward_manager`` resolves to.

    Errors: the estimator reads keys the manager does not write (field ``algorithm.adv_estimator``); the
    manager is another recipe's than ``multiling.recipe`` (field ``reward.reward_manager.name``). Each names
    the manager or estimator to choose. A manager that is not ours: a warning when the estimator reads keys
    (they cannot be checked). A manager that does not load is left to ``check_reward_manager``.
    """
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    name = str(cfg.algorithm.adv_estimator)
    try:
        manager_cls = resolve_reward_manager_cls(cfg)
    except Exception:  # reported, with its fix, by preflight.checks.check_reward_manager
        return []
    needs = estimator_needs(name, cfg.algorithm)
    writes = manager_writes(manager_cls)
    manager = manager_cls.__name__
    out: list[Finding] = []
    if needs is not None and needs.extra_info:
        if writes is None:
            out.append(Finding(
                "warning", FIELD_MANAGER,
                f"{manager} is not a verl_multiling reward manager, so the reward_extra_info keys "
                f"{list(needs.extra_info)} that {FIELD_ESTIMATOR}={name} reads cannot be checked: every sample's "
                "reward_extra_info must hold them, or the first advantage computation stops with a KeyError"))
        else:
            missing = [k for k in needs.extra_info if k not in writes]
            if missing:
                out.append(Finding("error", FIELD_ESTIMATOR, _missing_keys_message(name, needs, manager, missing,
                                                                                   writes)))
    recipe = _get(_get(cfg, "multiling", None), "recipe", None)
    out += _recipe_manager(recipe, manager_cls, writes)
    if not any(f.level in ("error", "warning") for f in out):
        reads = f"reads {list(needs.extra_info)}, which {manager} writes" if needs and needs.extra_info else \
            "reads no reward_extra_info"
        out.append(Finding("ok", "estimator/reward manager", f"{name} {reads}"))
    return out


def _missing_keys_message(name: str, needs: EstimatorNeeds, manager: str, missing: list[str],
                          writes: tuple[str, ...]) -> str:
    """The error, with the fixes: a recipe's manager that writes every key, or an estimator this manager
    feeds (ours whose keys it writes, else the estimator of its own recipe, else verl's grpo)."""
    fixes = []
    for pair in recipe_pairs():
        cls = _our_manager(pair.manager)
        if cls is not None and pair.manager != manager and set(needs.extra_info) <= set(manager_writes(cls)):
            fixes.append(f"{FIELD_MANAGER}={pair.manager} (+recipe={pair.recipe})")
    fitting = [est for est in ESTIMATOR_NEEDS if set(estimator_needs(est).extra_info) <= set(writes)]
    own = [p.estimator for p in recipe_pairs() if p.manager == manager]
    estimators = fitting + own or ["grpo"]
    fixes.append(f"{FIELD_ESTIMATOR}={' or '.join(dict.fromkeys(estimators))}")
    return (f"{FIELD_ESTIMATOR}={name} needs reward_extra_info keys {missing} that {manager} does not write "
            f"(the first advantage computation would stop with a KeyError): use {' or '.join(fixes)}")


def _recipe_manager(recipe: Any, manager_cls: type, writes: tuple[str, ...] | None) -> list[Finding]:
    """With ``multiling.recipe`` set to one of our recipes and a manager of ours, it must be the recipe's own
    manager (or a subclass): another recipe's manager ignores ``multiling.<recipe>`` (PB-RLSVR's semantic
    reward, TAPO's translation reward, the reflection bonus) and trains on a different reward."""
    if writes is None or recipe is None:
        return []
    pair = next((p for p in recipe_pairs() if p.recipe == recipe), None)
    expected = _our_manager(pair.manager) if pair is not None else None
    if expected is None or issubclass(manager_cls, expected):
        return []
    owner = next((p.recipe for p in recipe_pairs() if _our_manager(p.manager) is not None
                  and issubclass(manager_cls, _our_manager(p.manager))), None)
    other = f" or +recipe={owner} for {manager_cls.__name__}'s reward" if owner else ""
    return [Finding("error", FIELD_MANAGER,
                    f"{manager_cls.__name__} is not the reward manager of multiling.recipe={recipe}: it ignores the "
                    f"multiling.{recipe} settings and trains on another reward. Use {FIELD_MANAGER}={pair.manager}"
                    f"{other}")]
