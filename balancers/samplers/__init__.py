"""Samplers: all built on one engine (:class:`EpochSampler`), DDP-ready and resumable."""

from ._engine import EpochSampler, IndexBatchSampler
from ._repeat_factor import RepeatFactorSampler
from ._weighted import WeightedSampler, weighted_random_sampler

__all__ = [
    "EpochSampler",
    "IndexBatchSampler",
    "RepeatFactorSampler",
    "WeightedSampler",
    "weighted_random_sampler",
]
