"""Benchmarks, the top layer beside the miniature: measurements the tests must not make (no wall-clock
assertion lives in a test; a time goes here). :mod:`.sizing` holds the pure sizing arithmetic of the reward side
(docs/scaling.md) that the scaling benchmark feeds with measured costs.
"""
