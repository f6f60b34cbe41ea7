"""Augmentation-based oversampling with albumentations (extra ``augment``).

Oversampling repeats the same pixels; :class:`AugmentedDataset` serves each clone through an
albumentations pipeline instead, reproducibly (randomness keyed by seed, epoch and position) with
any number of DataLoader workers; :func:`oversample_with_augmentation` does the resampling and
the wrapping in one call; :func:`materialize` writes the result to disk as an ``ImageFolder``
tree with a manifest, resumable after an interruption.

The augmentation stream: item ``k`` of epoch ``e`` draws from a numpy ``Generator`` (PCG64) and a
``random.Random`` whose states are a pure function of ``(seed, e, k)``, set through public APIs
(the bit generator's ``state`` and ``advance``, ``random.Random.seed``) on the dataset's own deep
copy of the pipeline. The rules are versioned by :data:`AUGMENT_STREAM` (now 2), which
``materialize`` records with the balancers and albumentations versions: a folder written under
another stream, pipeline or version is never silently mixed with new pixels.

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
from ._seeding import AUGMENT_STREAM  # noqa: E402

__all__ = [
    "AUGMENT_STREAM",
    "AugmentedDataset",
    "MaterializeResult",
    "default_pipeline",
    "from_hwc",
    "load_pipeline",
    "materialize",
    "oversample_with_augmentation",
    "to_hwc",
]
