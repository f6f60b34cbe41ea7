"""Long-tailed benchmark datasets and splits (like ``torchvision.datasets``).

* :func:`long_tail_counts`: per-class counts of an exponential, step or linear profile;
* :func:`long_tail_indices`, :func:`balanced_indices`: which samples to keep (numpy only);
* :func:`long_tail_split` / :class:`LongTailSplit`: a long-tailed train set with balanced
  validation and test sets, saved to and loaded from a checksummed JSON manifest;
* :class:`CIFAR10LT`, :class:`CIFAR100LT`, :class:`MNISTLT`, :class:`FashionMNISTLT`: the
  torchvision datasets, long-tailed; :func:`load_source`: the plain torchvision dataset by name.

Names are loaded on first use, so torchvision is imported only by the dataset classes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from ._indices import balanced_indices as balanced_indices
    from ._indices import long_tail_indices as long_tail_indices
    from ._profiles import long_tail_counts as long_tail_counts
    from ._split import LongTailSplit as LongTailSplit
    from ._split import labels_sha256 as labels_sha256
    from ._split import long_tail_split as long_tail_split
    from ._vision import CIFAR10LT as CIFAR10LT
    from ._vision import CIFAR100LT as CIFAR100LT
    from ._vision import MNISTLT as MNISTLT
    from ._vision import FashionMNISTLT as FashionMNISTLT
    from ._vision import load_source as load_source

#: public name -> the module that defines it
_SOURCES: dict[str, str] = {
    "CIFAR100LT": "._vision",
    "CIFAR10LT": "._vision",
    "FashionMNISTLT": "._vision",
    "LongTailSplit": "._split",
    "MNISTLT": "._vision",
    "balanced_indices": "._indices",
    "labels_sha256": "._split",
    "load_source": "._vision",
    "long_tail_counts": "._profiles",
    "long_tail_indices": "._indices",
    "long_tail_split": "._split",
}

__all__ = [
    "CIFAR100LT",
    "CIFAR10LT",
    "FashionMNISTLT",
    "LongTailSplit",
    "MNISTLT",
    "balanced_indices",
    "labels_sha256",
    "load_source",
    "long_tail_counts",
    "long_tail_indices",
    "long_tail_split",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = attach(__name__, _SOURCES)
