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
from ._regression import TargetReport, describe_targets, regression_weights
from ._weights import class_weights, pos_weight, sample_weights
from .model_selection import (
    IterativeStratifiedGroupKFold,
    IterativeStratifiedKFold,
    bin_continuous,
    iterative_train_test_split,
    stratification_report,
    stratification_targets,
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

__version__ = "0.1.0"

__all__ = [
    "BalancedBatchSampler",
    "ClassAwareSampler",
    "ClassBalancedSampler",
    "EpochSampler",
    "ImbalanceReport",
    "IndexBatchSampler",
    "IterativeStratifiedGroupKFold",
    "IterativeStratifiedKFold",
    "ProgressivelyBalancedSampler",
    "RepeatFactorSampler",
    "ResampledSampler",
    "TargetReport",
    "WeightedSampler",
    "__version__",
    "bin_continuous",
    "class_weights",
    "describe",
    "describe_targets",
    "get_labels",
    "iterative_train_test_split",
    "lp_ros",
    "lp_rus",
    "ml_ros",
    "ml_rus",
    "pos_weight",
    "random_oversample",
    "random_undersample",
    "regression_weights",
    "sample_weights",
    "stratification_report",
    "stratification_targets",
    "weighted_random_sampler",
]
