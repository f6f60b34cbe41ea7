"""balancers: fix class imbalance at the data level for PyTorch.

Samplers for ``DataLoader`` (weighted, class-balanced, progressive, class-aware, repeat-factor,
balanced batches) that work under DDP and resume mid-epoch; multilabel-aware resampling and
iterative stratification; long-tailed benchmark splits; reweighting helpers, focal losses and
imbalance-aware metrics.
"""

from . import losses as losses
from . import metrics as metrics
from ._describe import ImbalanceReport, describe
from ._labels import get_labels
from ._weights import class_weights, pos_weight, sample_weights
from .model_selection import (
    IterativeStratifiedKFold,
    iterative_train_test_split,
    stratification_report,
)
from .resample import (
    lp_ros,
    lp_rus,
    ml_ros,
    ml_rus,
    random_oversample,
    random_undersample,
)
from .samplers import (
    BalancedBatchSampler,
    ClassAwareSampler,
    ClassBalancedSampler,
    EpochSampler,
    IndexBatchSampler,
    ProgressivelyBalancedSampler,
    RepeatFactorSampler,
    ResampledSampler,
    WeightedSampler,
    weighted_random_sampler,
)

__version__ = "0.2.0"

__all__ = [
    "BalancedBatchSampler",
    "ClassAwareSampler",
    "ClassBalancedSampler",
    "EpochSampler",
    "ImbalanceReport",
    "IndexBatchSampler",
    "IterativeStratifiedKFold",
    "ProgressivelyBalancedSampler",
    "RepeatFactorSampler",
    "ResampledSampler",
    "WeightedSampler",
    "__version__",
    "class_weights",
    "describe",
    "get_labels",
    "iterative_train_test_split",
    "lp_ros",
    "lp_rus",
    "ml_ros",
    "ml_rus",
    "pos_weight",
    "random_oversample",
    "random_undersample",
    "sample_weights",
    "stratification_report",
    "weighted_random_sampler",
]
