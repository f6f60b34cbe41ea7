"""Resampling to a fixed index multiset (imbalanced-learn semantics, at the index level)."""

from ._multilabel import lp_ros, lp_rus, ml_ros, ml_rus
from ._random import random_oversample, random_undersample

__all__ = [
    "lp_ros",
    "lp_rus",
    "ml_ros",
    "ml_rus",
    "random_oversample",
    "random_undersample",
]
