"""Hydra search-path plugin of verl_multiling (no torch, no verl: Hydra imports it at start-up)."""
