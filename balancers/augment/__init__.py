"""Augmentation-based oversampling with albumentations (extra ``augment``).

Oversampling repeats the same pixels; :class:`AugmentedDataset` serves each clone through an
albumentations pipeline instead, reproducibly (randomness keyed by seed, epoch and position) with
any number of DataLoader workers; :func:`oversample_with_augmentation` does the resampling and
the wrapping in one call; :func:`materialize` writes the result to disk as an ``ImageFolder``
tree with a manifest, resumable after an interruption.

Example:
    >>> from balancers.augment import AugmentedDataset, default_pipeline, materialize
"""

from .._optional import import_optional

import_optional("albumentations", extra="augment")

from ._dataset import AugmentedDataset  # noqa: E402
from ._images import from_hwc, to_hwc  # noqa: E402
from ._materialize import MaterializeResult, materialize  # noqa: E402
from ._oversample import oversample_with_augmentation  # noqa: E402
from ._pipelines import default_pipeline, load_pipeline  # noqa: E402

__all__ = [
    "AugmentedDataset",
    "MaterializeResult",
    "default_pipeline",
    "from_hwc",
    "load_pipeline",
    "materialize",
    "oversample_with_augmentation",
    "to_hwc",
]
