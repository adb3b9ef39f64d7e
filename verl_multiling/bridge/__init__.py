"""The per-sample bridge: the one place that touches verl's trainer internals.

verl 0.9.1's V1 trainer gives a custom advantage estimator nothing per sample but ``uid``. The
trainers registered in :mod:`verl_multiling.bridge.trainers` fetch each sample's
``reward_extra_info`` from TransferQueue, log per-language means, and pass
``reward_extra_info``/``global_step``/``total_steps`` to any estimator whose signature names them.
"""
