#!/usr/bin/env bash
# Reflection recipe, stage 3 (arXiv 2603.14041): GRPO from the stage-2 model with accuracy + format + reflection
# rewards, r = r_acc + r_fmt + w min(1, n/c) (gated on correctness; knobs under multiling.reflection).
# Same launcher as stage 2 (see stage2_grpo_acc_format.sh for every env var); extra arguments are Hydra overrides.
#
#   STAGE2_MODEL=checkpoints/verl_multiling/reflection_stage2_acc_format/model \
#   TRAIN=~/data/reflection/train.parquet VAL=~/data/reflection/val.parquet bash recipes/reflection/stage3_grpo_reflection.sh
#   ... multiling.reflection.weight=0.25 multiling.reflection.gate_on_correct=false   # variants
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REFLECTION=1
export EXPERIMENT=${EXPERIMENT:-reflection_stage3_reflection}
export MODEL=${MODEL:-${STAGE2_MODEL:-checkpoints/verl_multiling/reflection_stage2_acc_format/model}}
exec bash "$HERE/stage2_grpo_acc_format.sh" "$@"
