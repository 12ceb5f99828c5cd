"""Deterministic Hypothesis profile for the rk-optim tests."""

from hypothesis import settings

settings.register_profile("rk_optim", derandomize=True, deadline=None, max_examples=12)
settings.load_profile("rk_optim")
