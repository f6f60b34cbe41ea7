"""balancers: fix class imbalance at the data level for PyTorch.

Samplers for ``DataLoader`` (weighted, class-balanced, progressive, class-aware, repeat-factor,
balanced batches) that work under DDP and resume mid-epoch; multilabel-aware resampling and
iterative stratification; long-tailed benchmark splits; reweighting helpers, focal losses and
imbalance-aware metrics.

The public names are loaded on first use (PEP 562), so ``import balancers`` and the command
line's ``--help`` stay fast; ``from balancers import X`` works as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import attach

if TYPE_CHECKING:
    from . import losses as losses
    from . import metrics as metrics
    from ._describe import ImbalanceReport as ImbalanceReport
    from ._describe import describe as describe
    from ._labels import get_labels as get_labels
    from ._regression import TargetReport as TargetReport
    from ._regression import describe_targets as describe_targets
    from ._regression import regression_weights as regression_weights
    from ._weights import class_weights as class_weights
    from ._weights import pos_weight as pos_weight
    from ._weights import sample_weights as sample_weights
    from .model_selection import IterativeStratifiedGroupKFold as IterativeStratifiedGroupKFold
    from .model_selection import IterativeStratifiedKFold as IterativeStratifiedKFold
    from .model_selection import bin_continuous as bin_continuous
    from .model_selection import iterative_train_test_split as iterative_train_test_split
    from .model_selection import stratification_report as stratification_report
    from .model_selection import stratification_targets as stratification_targets
    from .resample import lp_ros as lp_ros
    from .resample import lp_rus as lp_rus
    from .resample import ml_ros as ml_ros
    from .resample import ml_rus as ml_rus
    from .resample import random_oversample as random_oversample
    from .resample import random_undersample as random_undersample
    from .samplers import BalancedBatchSampler as BalancedBatchSampler
    from .samplers import ClassAwareSampler as ClassAwareSampler
    from .samplers import ClassBalancedSampler as ClassBalancedSampler
    from .samplers import EpochSampler as EpochSampler
    from .samplers import IndexBatchSampler as IndexBatchSampler
    from .samplers import ProgressivelyBalancedSampler as ProgressivelyBalancedSampler
    from .samplers import RepeatFactorSampler as RepeatFactorSampler
    from .samplers import ResampledSampler as ResampledSampler
    from .samplers import WeightedSampler as WeightedSampler
    from .samplers import weighted_random_sampler as weighted_random_sampler
    from .segmentation import RareClassSampler as RareClassSampler

__version__ = "0.2.0"

#: public name -> the module that defines it (relative to this package)
_SOURCES: dict[str, str] = {
    "BalancedBatchSampler": ".samplers",
    "ClassAwareSampler": ".samplers",
    "ClassBalancedSampler": ".samplers",
    "EpochSampler": ".samplers",
    "ImbalanceReport": "._describe",
    "IndexBatchSampler": ".samplers",
    "IterativeStratifiedGroupKFold": ".model_selection",
    "IterativeStratifiedKFold": ".model_selection",
    "ProgressivelyBalancedSampler": ".samplers",
    "RareClassSampler": ".segmentation",
    "RepeatFactorSampler": ".samplers",
    "ResampledSampler": ".samplers",
    "TargetReport": "._regression",
    "WeightedSampler": ".samplers",
    "bin_continuous": ".model_selection",
    "class_weights": "._weights",
    "describe": "._describe",
    "describe_targets": "._regression",
    "get_labels": "._labels",
    "iterative_train_test_split": ".model_selection",
    "losses": ".",
    "lp_ros": ".resample",
    "lp_rus": ".resample",
    "metrics": ".",
    "ml_ros": ".resample",
    "ml_rus": ".resample",
    "pos_weight": "._weights",
    "random_oversample": ".resample",
    "random_undersample": ".resample",
    "regression_weights": "._regression",
    "sample_weights": "._weights",
    "stratification_report": ".model_selection",
    "stratification_targets": ".model_selection",
    "weighted_random_sampler": ".samplers",
}

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
    "RareClassSampler",
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

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _SOURCES)
