"""Resampling to a fixed index multiset (imbalanced-learn semantics, at the index level)."""

__all__: list[str] = []
