"""``oversample_with_augmentation``: oversample by index, then augment the clones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from .._labels import check_labels, get_labels
from .._validation import check_seed
from ..resample import ml_ros, random_oversample
from ._dataset import AugmentedDataset, AugmentMode, check_dataset, check_transform

__all__ = ["oversample_with_augmentation"]


def oversample_with_augmentation(
    dataset: Any,
    transform: Callable[..., Any] | None,
    sampling_strategy: Any = "auto",
    *,
    seed: int | None = 0,
    percentage: float = 25.0,
    augment: AugmentMode = "repeats",
    dataset_transform: Literal["after", "keep"] = "after",
) -> AugmentedDataset:
    """Oversample minority classes and augment every clone, in one call.

    Labels are read with :func:`balancers.get_labels` (from ``.targets`` and the like, without
    decoding images). Multiclass data is oversampled by :func:`balancers.random_oversample` with
    ``sampling_strategy`` (imbalanced-learn semantics); multilabel data by
    :func:`balancers.ml_ros` (Charte et al. 2015) with ``percentage``. The index multiset is then
    served by :class:`AugmentedDataset`, which passes each original once, untouched, and each
    clone through ``transform`` with randomness keyed by (seed, epoch, position).

    Args:
        dataset: a map-style dataset of ``(image, target)`` items.
        transform: an albumentations pipeline for the clones (None only with
            ``augment="none"``).
        sampling_strategy: multiclass: ``"auto"``, ``"minority"``, ``"not minority"``,
            ``"not majority"``, ``"all"``, a float (binary), a dict {class: target count} or a
            callable; multilabel: only ``"auto"`` (use ``percentage``).
        seed: seed of both the resampling and the augmentations.
        percentage: multilabel only: the percentage of samples ML-ROS adds.
        augment: passed to :class:`AugmentedDataset` (``"repeats"``, ``"all"`` or ``"none"``).
        dataset_transform: passed to :class:`AugmentedDataset`.

    Returns:
        An :class:`AugmentedDataset` over the oversampled indices (``set_epoch`` it every epoch).

    Raises:
        TypeError: ``dataset`` is not a map-style dataset or ``transform`` is not callable.
        ValueError: bad ``augment``; bad labels or strategy (see the resamplers); a
            multiclass-only strategy with multilabel data.

    Example:
        >>> import torch, albumentations as A
        >>> from torch.utils.data import TensorDataset
        >>> x = torch.zeros(6, 1, 4, 4, dtype=torch.uint8)
        >>> ds = TensorDataset(x, torch.tensor([0, 0, 0, 0, 1, 1]))
        >>> aug = oversample_with_augmentation(ds, A.Compose([A.HorizontalFlip()]), seed=0)
        >>> len(aug), int(aug.augmented.sum())
        (8, 2)
    """
    check_dataset(dataset)
    check_transform(transform, augment)
    seed = check_seed(seed)
    labels = check_labels(get_labels(dataset), "dataset labels")
    if labels.is_multilabel:
        if not (isinstance(sampling_strategy, str) and sampling_strategy == "auto"):
            raise ValueError(
                "`sampling_strategy` should be 'auto' for multilabel data (ML-ROS is driven by "
                f"`percentage`), but got sampling_strategy={sampling_strategy!r}. Pass "
                "percentage=... instead."
            )
        indices = ml_ros(labels, percentage=percentage, seed=seed)
    else:
        indices = random_oversample(labels, sampling_strategy, seed=seed)
    return AugmentedDataset(
        dataset,
        indices,
        transform,
        augment=augment,
        seed=seed,
        dataset_transform=dataset_transform,
    )
