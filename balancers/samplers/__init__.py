"""Samplers: all built on one engine (:class:`EpochSampler`), DDP-ready and resumable."""

from ._engine import EpochSampler, IndexBatchSampler
from ._weighted import WeightedSampler, weighted_random_sampler

__all__ = [
    "EpochSampler",
    "IndexBatchSampler",
    "WeightedSampler",
    "weighted_random_sampler",
]
