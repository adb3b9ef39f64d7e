"""Reward components: pure functions over strings that know nothing of verl.

Each returns a flat dict whose ``score`` is the scalar reward and whose other keys are the parts
that verl logs through ``reward_extra_info`` (the same keys for every sample).
"""
