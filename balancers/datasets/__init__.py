"""Long-tailed benchmark datasets and splits (like ``torchvision.datasets``).

* :func:`long_tail_counts`: per-class counts of an exponential, step or linear profile;
* :func:`long_tail_indices`, :func:`balanced_indices`: which samples to keep (numpy only);
* :func:`long_tail_split` / :class:`LongTailSplit`: a long-tailed train set with balanced
  validation and test sets, saved to and loaded from a checksummed JSON manifest;
* :class:`CIFAR10LT`, :class:`CIFAR100LT`, :class:`MNISTLT`, :class:`FashionMNISTLT`: the
  torchvision datasets, long-tailed.
"""

from ._indices import balanced_indices, long_tail_indices
from ._profiles import long_tail_counts
from ._split import LongTailSplit, labels_sha256, long_tail_split
from ._vision import CIFAR10LT, CIFAR100LT, MNISTLT, FashionMNISTLT

__all__ = [
    "CIFAR100LT",
    "CIFAR10LT",
    "FashionMNISTLT",
    "LongTailSplit",
    "MNISTLT",
    "balanced_indices",
    "labels_sha256",
    "long_tail_counts",
    "long_tail_indices",
    "long_tail_split",
]
