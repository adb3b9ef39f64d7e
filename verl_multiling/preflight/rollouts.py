"""Sample rollouts (JSONL) -> the one-sample-per-row ``DataProto`` that verl's reward loop scores.

A rollout row has ``uid`` (its prompt group), ``lang``, ``question``, ``response``,
``ground_truth`` (a string, or a list of accepted answers; optional where the reward needs no gold answer:
PB-RLSVR with ``multiling.pb_rlsvr.gold=none``, ``load_rollouts(..., need_gold=False)``) and optionally
``data_source``. The bundled file
``verl_multiling/data/sample_rollouts.jsonl`` holds 104 rollouts in 13 languages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from verl_multiling.plumbing.paths import DATA_DIR

BUNDLED_ROLLOUTS = DATA_DIR / "sample_rollouts.jsonl"
REQUIRED_FIELDS = ("uid", "question", "response", "ground_truth")
OPTIONAL_COLUMNS = ("pivot_response",)  # copied into the DataProto / data frame when the rollouts have them


def load_rollouts(path: Path | str | None = None, need_gold: bool = True) -> list[dict]:
    """Read rollouts; a malformed line or a missing field is an error naming the line and field
    (``ground_truth`` may be missing when ``need_gold`` is False: the row then has no gold answer)."""
    path = Path(path) if path is not None else BUNDLED_ROLLOUTS
    required = REQUIRED_FIELDS if need_gold else tuple(k for k in REQUIRED_FIELDS if k != "ground_truth")
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            missing = [k for k in required if k not in row]
            if missing:
                raise ValueError(f"{path}:{number}: missing field(s) {missing}; rollouts need {list(required)}")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rollouts")
    return rows


def build_dataproto(rows: list[dict], tokenizer, lang_key: str = "lang", max_response_tokens: int = 4096):
    """Left-padded prompts and right-padded responses, as verl's agent loop hands them to rewards."""
    from verl import DataProto

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": r["question"]}],
                                             add_generation_prompt=True, tokenize=True) for r in rows]
    prompts = [p["input_ids"] if isinstance(p, dict) or hasattr(p, "keys") else p for p in prompts]
    responses = [tokenizer(r["response"], add_special_tokens=False)["input_ids"][:max_response_tokens] for r in rows]
    prompt_len = max(len(p) for p in prompts)
    response_len = max(max(len(r) for r in responses), 1)
    n = len(rows)
    prompt_ids = torch.full((n, prompt_len), pad, dtype=torch.long)
    response_ids = torch.full((n, response_len), pad, dtype=torch.long)
    attention = torch.zeros((n, prompt_len + response_len), dtype=torch.long)
    for i, (p, r) in enumerate(zip(prompts, responses, strict=True)):
        prompt_ids[i, prompt_len - len(p):] = torch.tensor(p, dtype=torch.long)
        attention[i, prompt_len - len(p):prompt_len] = 1
        if r:
            response_ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
            attention[i, prompt_len: prompt_len + len(r)] = 1
    input_ids = torch.cat([prompt_ids, response_ids], dim=1)
    response_mask = attention[:, prompt_len:]
    non_tensor = {
        "uid": np.array([str(r["uid"]) for r in rows], dtype=object),
        "data_source": np.array([r.get("data_source", "preflight") for r in rows], dtype=object),
        "reward_model": np.array([{"ground_truth": gold_value(r.get("ground_truth")), "style": "rule"} for r in rows],
                                 dtype=object),
        lang_key: np.array([r.get("lang") for r in rows], dtype=object),
        # the parallel-data fields travel in extra_info as in prepared data (TAPO's translation reference)
        "extra_info": np.array([{"index": i, **{k: r[k] for k in ("question", "question_en") if k in r}}
                                for i, r in enumerate(rows)], dtype=object),
    }
    for key in OPTIONAL_COLUMNS:  # e.g. PB-RLSVR's pivot reference y_en, a dataset column in training
        if any(key in r for r in rows):
            non_tensor[key] = np.array([r.get(key) for r in rows], dtype=object)
    tensors = {"prompts": prompt_ids, "responses": response_ids, "input_ids": input_ids,
               "attention_mask": attention, "response_mask": response_mask}
    return DataProto.from_dict(tensors=tensors, non_tensors=non_tensor)


def gold_value(gold):
    """A rollout's gold answer as the dataset holds it: a string, or a list of accepted answers (aliases,
    as a short-answer task gives them) kept as a list of strings; None (no gold answer) stays None."""
    if gold is None:
        return None
    if isinstance(gold, (list, tuple)):
        return [str(g) for g in gold]
    return str(gold)


def rows_as_dataset(rows: list[dict], lang_key: str = "lang"):
    """The rollouts' prompts as a verl training frame (one row per prompt group), for data checks."""
    import pandas as pd

    seen: dict[str, dict] = {}
    for r in rows:
        seen.setdefault(str(r["uid"]), {
            "data_source": r.get("data_source", "preflight"),
            "prompt": [{"role": "user", "content": r["question"]}],
            "reward_model": {"ground_truth": gold_value(r.get("ground_truth")), "style": "rule"},
            lang_key: r.get("lang"),
            "extra_info": {"uid": str(r["uid"]), **{k: r[k] for k in ("question", "question_en") if k in r}},
            **{k: r[k] for k in OPTIONAL_COLUMNS if k in r},
        })
    return pd.DataFrame(list(seen.values()))


def recipe_rollouts(cfg) -> str | None:
    """``multiling.preflight_rollouts`` (a file in verl_multiling/data, or a path), else None (the default)."""
    import os

    name = (cfg.get("multiling") or {}).get("preflight_rollouts")
    if not name:
        return None
    path = Path(os.path.expanduser(str(name)))
    return str(path if path.is_absolute() or path.exists() else DATA_DIR / path)
