"""Samplers: all built on one engine (:class:`EpochSampler`), DDP-ready and resumable."""

from typing import TYPE_CHECKING

from .._lazy import attach
from ._balanced_batch import BalancedBatchSampler
from ._class_aware import ClassAwareSampler
from ._class_balanced import ClassBalancedSampler
from ._engine import EpochSampler, IndexBatchSampler
from ._progressive import ProgressivelyBalancedSampler
from ._repeat_factor import RepeatFactorSampler
from ._resampled import ResampledSampler
from ._weighted import WeightedSampler, weighted_random_sampler

__all__ = [
    "BalancedBatchSampler",
    "ClassAwareSampler",
    "ClassBalancedSampler",
    "EpochSampler",
    "IndexBatchSampler",
    "ProgressivelyBalancedSampler",
    "RareClassSampler",
    "RepeatFactorSampler",
    "ResampledSampler",
    "WeightedSampler",
    "weighted_random_sampler",
]

if TYPE_CHECKING:
    from ..segmentation import RareClassSampler as RareClassSampler
else:  # defined in balancers.segmentation, which imports this package: loaded on first use
    __getattr__, __dir__ = attach(__name__, {"RareClassSampler": "..segmentation"})
