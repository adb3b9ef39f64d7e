"""verl_multiling: multilingual-reasoning GRPO recipes as a verl 0.9.1 plugin.

Importing this package is cheap (no torch, no verl): the heavy pieces live in
submodules that the verl entry point (:mod:`verl_multiling.register`) imports.
"""

__version__ = "0.1.0"
