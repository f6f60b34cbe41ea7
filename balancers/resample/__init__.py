"""Resampling to a fixed index multiset (imbalanced-learn semantics, at the index level)."""

from ._multilabel import lp_ros, lp_rus, ml_ros, ml_rus

__all__ = [
    "lp_ros",
    "lp_rus",
    "ml_ros",
    "ml_rus",
]
