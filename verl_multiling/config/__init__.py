"""Configuration, the layer above plumbing: what the plugin reads from the composed Hydra config, and how.

- :mod:`.schema`: the declaration language (``Knob``, ``Node``) and the reader that lists every error
- :mod:`.knobs`: every knob declared once (type, default, range, origin); ``docs/config.md`` is generated
  from it (``python -m verl_multiling.config.knobs``)
- :mod:`.confnode`: reading a node of a DictConfig or a plain dict alike
- :mod:`.faults`: the fault policy (``multiling.faults``) and the scorer guard that applies it
- :mod:`.multiling`: ``MultilingConfig``, the shared ``multiling`` node as a dataclass

It imports nothing of the plugin but :mod:`verl_multiling.plumbing`. The estimator/manager contract and the
start-up check import the estimators and reward managers, so they live in :mod:`verl_multiling.preflight`.
"""
