"""A whole training step: verl's real main_ppo on CPU (``verl-multiling smoke``), ours against verl's
built-ins (the ``e2e step`` rows of the versus_verl table).

``+recipe=adamame`` (our reward manager, bridge trainer, adamame_align) against the same small config on verl's
grpo estimator, sync trainer, naive reward manager and verl's math-verify, same scripted rollouts; --e2e-steps
steps a run (step 1 is a warm-up and is left out), --e2e-rounds alternating ours/verl pairs, best of them.

Not an area of its own: a section of the versus_verl area.

    python -m verl_multiling.benchmarks versus_verl --only e2e --e2e-rounds 1
"""

from __future__ import annotations

import io
import json
import os
import tempfile

import numpy as np

from verl_multiling.benchmarks.common import fmt_ratio, guarded, log

E2E_BASELINE = ["algorithm.adv_estimator=grpo", "trainer.v1.trainer_mode=sync",
                "reward.reward_manager.source=register", "reward.reward_manager.name=naive",
                "reward.custom_reward_function.path=pkg://verl_multiling.smoke.baseline",
                "reward.custom_reward_function.name=verl_math_verify_score", "multiling.startup_check=false"]
E2E_PHASES = (("whole step", "timing_s/step", 1.05), ("rollout + streamed reward", "timing_s/gen", None),
              ("advantage", "timing_s/adv", 1.5), ("actor update", "timing_s/update_actor", None))


def e2e_section(args, rows: list, out: dict) -> None:
    """+recipe=adamame (our reward manager, bridge trainer, adamame_align) against the same small config on
    verl's grpo estimator, sync trainer, naive reward manager and verl's math-verify, same scripted rollouts.

    verl 0.9.1 scores rule-based rewards while each response streams out of the rollout, so the reward
    phase has no timing_s entry of its own: it is inside timing_s/gen. Step 1 is a warm-up and is left out.
    """
    from verl_multiling.smoke.run import run_smoke

    out["e2e"] = res = {"runs": {"ours": [], "verl": []}}
    steps = max(2, args.e2e_steps)
    for round_ in range(max(1, args.e2e_rounds)):  # alternate, so a load spike hits both sides alike
        # the smoke run's audit dump (an extra TransferQueue read and a file write) is off: not part of a real step
        for which, extra in (("ours", ["++multiling.debug.advantage_dump_dir=null"]), ("verl", E2E_BASELINE)):
            log(f"e2e round {round_ + 1}: {which}, {steps} steps of main_ppo +recipe=adamame on CPU")
            work = tempfile.mkdtemp(prefix=f"bench-e2e-{which}-")
            json_path = os.path.join(work, "smoke.json")
            code = guarded(lambda: run_smoke(["+recipe=adamame", *extra], steps=steps, json_path=json_path,
                                            scripted=True, workdir=work, stream=io.StringIO()))
            if code != 0:
                rows.append(("e2e step", f"{which}: main_ppo", "error", "-", "-", f"exit {code}; see {work}"))
                return
            logged = json.loads(open(json_path, encoding="utf-8").read())["steps"][1:]
            res["runs"][which].append({key: float(np.mean([s["metrics"][key] for s in logged]))
                                       for _, key, _ in E2E_PHASES})
    for which in ("ours", "verl"):  # the least disturbed run of each side
        res[which] = {key: min(run[key] for run in res["runs"][which]) for _, key, _ in E2E_PHASES}
    for phase, key, target in E2E_PHASES:
        ours, base = res["ours"][key], res["verl"][key]
        res.setdefault("ratio", {})[key] = ours / base
        rows.append(("e2e step", f"{phase} ({key})", f"{ours:.2f} s", f"{base:.2f} s (verl grpo + naive)",
                     f"{fmt_ratio(ours / base)} time", f"mean of steps 2..{steps}, best of {max(1, args.e2e_rounds)} "
                     f"alternating runs" + (f"; target <= {target}x" if target else "")))
        log(f"  {phase}: ours {ours:.2f} s, verl {base:.2f} s ({ours / base:.2f}x)")
