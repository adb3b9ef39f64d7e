"""Recipe configs (Hydra group ``recipe``) and launch scripts; installed as ``verl_multiling.recipes``."""
