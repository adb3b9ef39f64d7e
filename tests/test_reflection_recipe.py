"""+recipe=reflection composed by Hydra, its manager loaded by verl and run through verl's reward loop."""

import numpy as np
import pytest
from omegaconf import OmegaConf, open_dict

from verl_multiling.preflight.rollouts import build_dataproto
from verl_multiling.reward_managers.reflection import ReflectionRewardManager
from verl_multiling.rewards.reflection import ReflectionConfig

W3 = 0.5 / 3
Q_EN = "Verify: Janet's ducks lay 16 eggs. She eats 3 and bakes with 4 and sells the rest at $2. How many dollars?"
Q_FR = "Une boîte contient 12 crayons. Tom achète 5 boîtes et donne 7 crayons. Combien lui en reste-t-il ?"
Q_ZH = "一盒有12支铅笔。汤姆买了5盒，送出7支。他还剩多少支？"
THINK_EN = "16 - 3 - 4 = 9 eggs and 9 * 2 = 18 dollars."
# (lang, question, response, gold, expected score, expected reflection_markers)
ROWS = [
    ("en", Q_EN, f"<think>{THINK_EN} Wait, let me verify: 9 + 3 + 4 = 16. Double-check: yes.</think> \\boxed{{18}}",
     "18", 2.5, 3),
    ("en", Q_EN, f"<think>{THINK_EN}</think> \\boxed{{18}}", "18", 2.0, 0),
    ("en", Q_EN, f"<think>{THINK_EN} " + "wait " * 50 + "</think> \\boxed{18}", "18", 2.0 + W3, 1),  # 49 repeats
    ("en", Q_EN, f"<think>{THINK_EN} Wait, verify, double-check.</think> \\boxed{{17}}", "18", 1.0, 3),
    ("en", Q_EN, f"<think>{THINK_EN}</think> Wait, let me verify. Double-check. \\boxed{{18}}", "18", 2.0, 0),
    ("en", Q_EN, f"<think>Verify: Janet's ducks lay 16 eggs. {THINK_EN}</think> \\boxed{{18}}", "18", 2.0, 0),
    ("en", Q_EN, "<think>wait wait wait</think> \\boxed{18}", "18", 2.0, 0),
    ("en", Q_EN, f"<think>{THINK_EN} wait, verify. \\boxed{{18}}", "18", 1.0, 0),
    ("fr", Q_FR, "<think>5 × 12 = 60 crayons, 60 - 7 = 53. Attends, vérifions : 53 + 7 = 60.</think> \\boxed{53}",
     "53", 2.0 + 2 * W3, 2),
    ("fr", Q_FR, "<think>5 × 12 = 60 crayons, « attends, vérifions », 60 - 7 = 53.</think> \\boxed{53}", "53", 2.0, 0),
    ("zh", Q_ZH, "<think>5盒共60支，送出7支，剩53支。等等，让我检查一下：53+7=60。</think>答案 \\boxed{53}",
     "53", 2.0 + 2 * W3, 2),
    ("zh", Q_ZH, "<think>5盒共60支，送出7支，剩53支。</think>答案是53", "53", 0.0, 0),
]


def rows():
    return [{"uid": f"q{i}", "lang": lang, "question": q, "response": resp, "ground_truth": gold}
            for i, (lang, q, resp, gold, _, _) in enumerate(ROWS)]


@pytest.fixture(scope="module")
def reflection_cfg(reward_loop_cfg):
    return reward_loop_cfg("+recipe=reflection")


@pytest.fixture(scope="module")
def data(tokenizer):
    sample = rows()
    batch = build_dataproto(sample, tokenizer)
    # the dataset row's question, as verl's RL dataset carries it (extra_info.question)
    batch.non_tensor_batch["extra_info"] = np.array(
        [{"index": i, "question": r["question"]} for i, r in enumerate(sample)], dtype=object)
    return batch


def test_recipe_composes_with_paper_structure_and_defaults(reflection_cfg, compose):
    cfg = reflection_cfg
    assert cfg.algorithm.adv_estimator == "grpo"
    assert (cfg.reward.reward_manager.source, cfg.reward.reward_manager.name) == ("importlib", "ReflectionRewardManager")
    assert cfg.reward.reward_manager.module.path == "pkg://verl_multiling.reward_managers"
    assert (cfg.actor_rollout_ref.rollout.name, cfg.actor_rollout_ref.actor.use_dynamic_bsz) == ("vllm", True)
    assert ReflectionConfig.from_config(cfg) == ReflectionConfig()
    ablation = compose(["+recipe=reflection", "multiling.reflection.enabled=false"])
    assert ReflectionConfig.from_config(ablation).enabled is False


def test_manager_loaded_by_verl_scores_hand_computed_rows(reflection_cfg, tokenizer, data):
    from verl.trainer.ppo.reward import load_reward_manager

    rm = load_reward_manager(reflection_cfg, tokenizer)
    assert isinstance(rm, ReflectionRewardManager)
    keys = None
    for i, (lang, _, _, _, score, markers) in enumerate(ROWS):
        out = rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))
        info = out["reward_extra_info"]
        keys = keys or set(info)
        assert set(info) == keys == set(ReflectionRewardManager.extra_keys) | {"reward_error"}
        assert out["reward_score"] == pytest.approx(score), (i, info)
        assert info["reflection_markers"] == markers, (i, info)
        assert info["question_missing"] == 0.0 and info["reward_error"] == 0.0 and info["query_lang"] == lang


def test_ablation_turns_the_reflection_reward_off(reflection_cfg, tokenizer, data):
    from verl.trainer.ppo.reward import load_reward_manager

    cfg = OmegaConf.create(OmegaConf.to_container(reflection_cfg))
    with open_dict(cfg):
        cfg.multiling.reflection.enabled = False
    rm = load_reward_manager(cfg, tokenizer)
    out = rm.loop.run_until_complete(rm.run_single(data[0:1]))
    assert out["reward_score"] == 2.0 and out["reward_extra_info"]["reflection_markers"] == 3


def test_bad_knob_fails_at_construction_naming_the_field(reflection_cfg, tokenizer):
    from verl.trainer.ppo.reward import load_reward_manager

    cfg = OmegaConf.create(OmegaConf.to_container(reflection_cfg))
    with open_dict(cfg):
        cfg.multiling.reflection.cap = 0
    with pytest.raises(ValueError, match=r"multiling\.reflection\.cap"):
        load_reward_manager(cfg, tokenizer)


def test_a_broken_row_scores_zero_with_a_counted_reason(reflection_cfg, tokenizer, data):
    from verl.trainer.ppo.reward import load_reward_manager

    rm = load_reward_manager(reflection_cfg, tokenizer)
    broken = data[0:1]
    broken.non_tensor_batch["reward_model"] = np.array([{"style": "rule"}], dtype=object)  # no ground truth
    out = rm.loop.run_until_complete(rm.run_single(broken))
    info = out["reward_extra_info"]
    assert out["reward_score"] == 0.0 and info["reward_error"] == 1.0 and info["answer_reason"] == "reward_error"
    assert set(info) == set(ReflectionRewardManager.extra_keys) | {"reward_error"}


@pytest.mark.ray
def test_reward_loop_manager_in_ray_workers(ray_cluster, reflection_cfg, data):
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    out = RewardLoopManager(reflection_cfg).compute_rm_score(data)
    scores = out.batch["rm_scores"].sum(-1).numpy()
    np.testing.assert_allclose(scores, [r[4] for r in ROWS], rtol=0, atol=1e-6)
    assert out.non_tensor_batch["reflection_markers"].astype(int).tolist() == [r[5] for r in ROWS]
    assert {"acc", "format", "reflection", "reflection_markers", "format_reason", "reflection_reason"} <= set(
        out.meta_info["reward_extra_keys"])
    last = data.batch["response_mask"].sum(-1) - 1
    np.testing.assert_allclose(out.batch["rm_scores"][np.arange(len(ROWS)), last].numpy(), scores, atol=1e-6)


# --- launchers: the commands they assemble compose into the intended configs ---------------------------

LAUNCHERS = ("stage1_sft.sh", "stage2_grpo_acc_format.sh", "stage3_grpo_reflection.sh", "ablation_no_reflection.sh")


def run_launcher(tmp_path, script, **env):
    """Run a launcher with `python`/`verl-multiling` replaced by recorders; return the recorded argv lists."""
    import os
    import shlex
    import subprocess

    from verl_multiling.plumbing.paths import recipes_dir

    bin_dir, log = tmp_path / "bin", tmp_path / f"{script}.log"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python", "verl-multiling"):
        (bin_dir / name).write_text(f'#!/usr/bin/env bash\nprintf "{name}" >> "$LOG"; printf " %q" "$@" >> "$LOG"; echo >> "$LOG"\n')
        (bin_dir / name).chmod(0o755)
    full_env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "MERGE": "0", **env}
    proc = subprocess.run(["bash", str(recipes_dir() / "reflection" / script)], env=full_env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    return proc, [shlex.split(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize("script,enabled,experiment", [
    ("stage2_grpo_acc_format.sh", False, "reflection_stage2_acc_format"),
    ("stage3_grpo_reflection.sh", True, "reflection_stage3_reflection"),
    ("ablation_no_reflection.sh", False, "reflection_ablation_no_reflection"),
])
def test_grpo_launchers_compose(tmp_path, compose, script, enabled, experiment):
    proc, calls = run_launcher(tmp_path, script, STAGE2_MODEL="/models/stage2")
    assert proc.returncode == 0, proc.stderr
    (tool, preflight, *pf_args), (py, *ppo) = calls
    assert (tool, preflight, py, ppo[:2]) == ("verl-multiling", "preflight", "python", ["-m", "verl.trainer.main_ppo"])
    assert pf_args == ppo[2:]  # preflight checks exactly the command that trains
    cfg = compose(ppo[2:])
    assert ReflectionConfig.from_config(cfg).enabled is enabled
    assert cfg.trainer.experiment_name == experiment and cfg.algorithm.adv_estimator == "grpo"
    if script != "stage2_grpo_acc_format.sh":
        assert cfg.actor_rollout_ref.model.path == "/models/stage2"


@pytest.mark.parametrize("ft,rank,lr", [("full", 0, 1.0e-5), ("lora", 32, 1.0e-4)])
def test_sft_launcher_selects_full_or_lora(tmp_path, compose, ft, rank, lr):
    proc, calls = run_launcher(tmp_path, "stage1_sft.sh", FT=ft, NPROC_PER_NODE="2")
    assert proc.returncode == 0, proc.stderr
    (py, *argv), = calls
    cut = argv.index("verl.trainer.sft_trainer") + 1
    assert argv[:3] == ["-m", "torch.distributed.run", "--standalone"] and "--nproc_per_node=2" in argv[:cut]
    cfg = compose(argv[cut:], config_name="sft_trainer_engine")
    assert (cfg.model.lora_rank, cfg.optim.lr, cfg.trainer.experiment_name) == (rank, lr, f"reflection_sft_{ft}")
    assert cfg.trainer.n_gpus_per_node == 2 and cfg.data.messages_key == "messages"


def test_sft_launcher_rejects_an_unknown_mode(tmp_path):
    proc, calls = run_launcher(tmp_path, "stage1_sft.sh", FT="qlora")
    assert proc.returncode == 2 and "FT=qlora" in proc.stderr and calls == []
