"""The prompts verl 0.9.1's ``data.filter_overlong_prompts`` will drop, counted with the model's tokenizer.

verl's ``RLHFDataset.maybe_filter_out_long_prompts`` (``verl/utils/dataset/rl_dataset.py``) keeps a row when,
for a text model (no multimodal processor)::

    len(normalize_token_ids(tokenizer.apply_chat_template(row[data.prompt_key], add_generation_prompt=True,
                                                         tokenize=True, **kwargs))) <= data.max_prompt_length

with ``kwargs`` = ``data.apply_chat_template_kwargs`` (less ``tokenize``, ``return_dict``, ``return_tensors``)
plus ``tools`` when ``data.tool_config_path`` / ``function_tool_path`` load; a row whose template raises
counts as ``max_prompt_length + 1`` (dropped). The tokenizer is the one verl builds
(``HFModelConfig``): ``hf_tokenizer(actor_rollout_ref.model.tokenizer_path or .path,
trust_remote_code=...)`` with ``custom_chat_template`` when set. :class:`PromptLengths` runs that same
call per row. Only preflight loads it (main_ppo's start-up check does not), and only offline: a local
directory, or a hub name already in the local Hugging Face cache (``local_files_only=True``); otherwise
:func:`load_prompt_lengths` returns a note saying why nothing was counted. A model with a multimodal
processor is not counted (its prompts carry images that the data check does not read).

Cost (Qwen2.5's tokenizer and template, 2 cores shared with other jobs): 0.2 ms per row at load 4 (2,000
prompts), 0.9-1.0 ms at load 6-21 (a 20,000-row file: 20 s counted vs 0.14 s for the parquet check alone),
so a 100k-row file adds 20-100 s to preflight's stage 3; main_ppo's start-up check pays nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from verl_multiling.preflight.findings import Finding

#: files whose presence makes AutoProcessor build a multimodal processor (verl's ``hf_processor`` is not None)
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")
REMOTE_PREFIXES = ("hdfs://", "s3://", "gs://", "oss://", "http://", "https://")
FIELD = "data.max_prompt_length"


@dataclass
class PromptLengths:
    """verl's per-row prompt length, and the counts it gives over a file's usable prompts."""

    tokenizer: Any
    max_length: int
    source: str  # where the tokenizer came from, for messages
    kwargs: dict = field(default_factory=dict)  # data.apply_chat_template_kwargs (+ tools), as verl passes them

    def length(self, messages: list) -> int:
        """verl's ``doc2len`` for a text model (where the chat template raises, verl drops the row)."""
        from verl.utils.tokenizer import normalize_token_ids

        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, **self.kwargs)
        return len(normalize_token_ids(ids))


@dataclass
class LengthCounts:
    """Over-long prompts (and template failures) among a file's usable prompts; the longest seen."""

    counted: int = 0
    overlong: int = 0
    template_errors: int = 0
    longest: int = 0
    first_template_error: str = ""

    @property
    def dropped(self) -> int:
        return self.overlong + self.template_errors

    def add(self, lengths: PromptLengths, prompts: list) -> None:
        for messages in prompts:
            if not _usable(messages):
                continue  # null, [] or not messages: counted (and reported) by the data check already
            self.counted += 1
            try:
                n = lengths.length(messages)
            except Exception as exc:
                self.template_errors += 1
                self.first_template_error = self.first_template_error or f"{type(exc).__name__}: {str(exc)[:200]}"
                continue
            self.longest = max(self.longest, n)
            self.overlong += n > lengths.max_length


def _usable(messages: Any) -> bool:
    """The data check's usable prompt: a non-empty list of messages, each with a role and a content."""
    return (isinstance(messages, list) and bool(messages)
            and all(isinstance(m, dict) and isinstance(m.get("role"), str) and m.get("content") is not None
                    for m in messages))


def template_kwargs(data: DictConfig) -> dict:
    """``data.apply_chat_template_kwargs`` and the tool schemas as verl's RLHFDataset passes them."""
    raw = data.get("apply_chat_template_kwargs") or {}
    kwargs = dict(OmegaConf.to_container(raw, resolve=True) if isinstance(raw, DictConfig) else raw)
    for key in ("tokenize", "return_dict", "return_tensors"):
        kwargs.pop(key, None)
    tool_config, function_tools = data.get("tool_config_path"), data.get("function_tool_path")
    if tool_config or function_tools:
        try:  # verl logs a warning and goes on without tools when they fail to load: the same here
            from verl.tools.tool_registry import load_all_tools

            tools = load_all_tools(tool_config_path=tool_config, function_tool_path=function_tools)
            kwargs["tools"] = [t.tool_schema.model_dump(exclude_unset=True, exclude_none=True) for t in tools]
        except Exception:
            pass
    return kwargs


def load_prompt_lengths(cfg: DictConfig) -> tuple[PromptLengths | None, Finding | None]:
    """The model's tokenizer loaded offline as verl loads it, or None and a note saying why nothing is counted
    (``data.filter_overlong_prompts`` off: nothing is dropped, and nothing is said)."""
    if not cfg.data.get("filter_overlong_prompts", True):
        return None, None
    model = cfg.actor_rollout_ref.model
    name = str(model.get("tokenizer_path") or model.path)
    not_counted = ("the row counts are before verl's filter_overlong_prompts, which drops prompts longer than "
                   f"data.max_prompt_length={cfg.data.max_prompt_length} tokens")
    if name.startswith(REMOTE_PREFIXES):
        return None, Finding("note", FIELD, f"over-long prompts not counted: the tokenizer {name} is remote; "
                                            f"{not_counted}")
    path = os.path.expanduser(name)
    local = os.path.isdir(path)
    if local and any(os.path.exists(os.path.join(path, f)) for f in PROCESSOR_FILES):
        return None, Finding("note", FIELD, f"over-long prompts not counted: {name} has a multimodal processor "
                                            f"(its prompts carry images this check does not read); {not_counted}")
    try:
        from verl.utils import hf_tokenizer

        tokenizer = hf_tokenizer(path if local else name, trust_remote_code=bool(model.get("trust_remote_code")),
                                 local_files_only=True)
    except Exception as exc:
        where = "" if local else " (not a local directory, and not in the local Hugging Face cache)"
        return None, Finding("note", FIELD, f"over-long prompts not counted: the tokenizer of {name} could not be "
                                            f"loaded offline{where}: {type(exc).__name__}: {str(exc)[:200]}; "
                                            f"{not_counted}. Point actor_rollout_ref.model.path (or tokenizer_path) "
                                            "at a local copy to count them")
    if model.get("custom_chat_template") is not None:
        tokenizer.chat_template = model.custom_chat_template
    return PromptLengths(tokenizer, int(cfg.data.max_prompt_length), name, template_kwargs(cfg.data)), None


def length_findings(counts: LengthCounts, lengths: PromptLengths, usable: int, path: str,
                    field_name: str) -> list[Finding]:
    """A warning with the count of prompts verl will drop, an error when it drops every row, else an ok."""
    limit = f"data.max_prompt_length={lengths.max_length}"
    if not counts.dropped:
        if not counts.counted:
            return []
        return [Finding("ok", field_name, f"{path}: every prompt fits {limit} tokens with the chat template of "
                                          f"{lengths.source} (longest {counts.longest})")]
    parts = []
    if counts.overlong:
        parts.append(f"{counts.overlong} longer than {limit} tokens with the chat template of {lengths.source} "
                     f"(longest {counts.longest})")
    if counts.template_errors:
        parts.append(f"{counts.template_errors} that the chat template refuses (first: {counts.first_template_error})")
    what = (f"{path}: {counts.dropped}/{counts.counted} prompts verl drops when it loads the data "
            f"(data.filter_overlong_prompts=true): {'; '.join(parts)}")
    if counts.dropped >= usable:
        return [Finding("error", field_name, f"{what}: no row is left to train on; raise {limit.split('=')[0]} or "
                                             "shorten the prompts")]
    return [Finding("warning", field_name, f"{what}; raise {limit.split('=')[0]} to keep them")]
