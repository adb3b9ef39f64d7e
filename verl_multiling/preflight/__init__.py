"""Preflight: compose main_ppo's config, validate it, and push sample rollouts through verl's
reward loop and the recipe's estimator on CPU, before any GPU hour is spent."""
