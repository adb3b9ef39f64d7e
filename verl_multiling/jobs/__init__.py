"""The offline jobs that prepare a training run, beside :mod:`verl_multiling.data_prep` and
:mod:`verl_multiling.evaluation` (which they build on):

- :mod:`.pivot_generation`: PB-RLSVR's pivot references y_en (resumable, data-parallel)
- :mod:`.sft_filter`: AdaMame stage 1's trace filter (language, answer, format) and SFT parquet
- :mod:`.lora_merge`: folds a LoRA adapter into its base model (``python -m verl_multiling.jobs.lora_merge``)
- :mod:`.difficulty`: keeps the RL prompts a model solves sometimes (AdaMame: 1..7 of 8)

Their command lines are the launchers in ``scripts/`` (and ``python -m`` for the LoRA merge).
"""
