"""``verl-multiling smoke``: real ``main_ppo`` GRPO steps of a recipe on a CPU, with a tiny model.

:mod:`~verl_multiling.smoke.assets` builds the model and data, :mod:`~verl_multiling.smoke.overrides`
holds the small-size and CPU overrides, :mod:`~verl_multiling.smoke.run` runs verl and reads back what
it logged, :mod:`~verl_multiling.smoke.report` prints the per-step, per-language tables.
"""
