"""Evaluation sets shipped as data (see stepdr.rank.dev_sets)."""
