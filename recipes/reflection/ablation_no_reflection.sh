#!/usr/bin/env bash
# Reflection recipe, ablation (arXiv 2603.14041): stage 3 without the reflection reward. Starts from the same
# stage-2 model and runs the same number of steps as stage3_grpo_reflection.sh with r = r_acc + r_fmt only
# (reflection markers are still counted and logged in reward_extra_info, so the two runs compare directly).
# Same launcher as stage 2 (see stage2_grpo_acc_format.sh for every env var); extra arguments are Hydra overrides.
#
#   STAGE2_MODEL=checkpoints/verl_multiling/reflection_stage2_acc_format/model \
#   TRAIN=~/data/reflection/train.parquet VAL=~/data/reflection/val.parquet bash recipes/reflection/ablation_no_reflection.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REFLECTION=0
export EXPERIMENT=${EXPERIMENT:-reflection_ablation_no_reflection}
export MODEL=${MODEL:-${STAGE2_MODEL:-checkpoints/verl_multiling/reflection_stage2_acc_format/model}}
exec bash "$HERE/stage2_grpo_acc_format.sh" "$@"
