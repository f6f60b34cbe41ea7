"""``ResampledSampler``: serve a fixed resampled index multiset, reshuffled every epoch."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import check_bool, describe_value
from ._class_aware import shuffled_cycles
from ._engine import EpochSampler

__all__ = ["ResampledSampler", "check_indices"]


def check_indices(indices: Any, name: str = "indices") -> npt.NDArray[np.int64]:
    """``indices`` as a 1-D non-empty int64 array of non-negative dataset indices."""
    value = indices
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, str | bytes | dict | set) or value is None:
        raise TypeError(
            f"`{name}` should be a 1-D array-like of non-negative integer indices, but got "
            f"{name}={describe_value(indices)} of type {type(indices).__name__}."
        )
    try:
        arr = np.asarray(value)
    except ValueError as exc:
        raise ValueError(
            f"`{name}` should be a 1-D array of indices, but got a ragged sequence."
        ) from exc
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if arr.size == 0 and arr.ndim == 1:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(
                f"`{name}` should hold integer indices, but got an array of dtype {arr.dtype}. "
                "Pass the output of random_oversample/random_undersample, or an integer array."
            )
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` should be 1-D, but got shape {arr.shape}. Flatten it with .ravel()."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` should not be empty, but got {name} with 0 elements.")
    if (arr < 0).any():
        first = int(np.flatnonzero(arr < 0)[0])
        raise ValueError(
            f"`{name}` should hold non-negative dataset indices, but got "
            f"{name}[{first}]={int(arr[first])}."
        )
    return arr.astype(np.int64)


class ResampledSampler(EpochSampler[int]):
    """Serve a fixed index multiset (e.g. from :func:`balancers.random_oversample`) as a sampler.

    Each epoch yields every index of ``indices`` once (a repeated index as many times as it
    occurs), in a fresh random order when ``shuffle=True``. With ``num_samples`` above
    ``len(indices)`` the epoch chains independent shuffles of the multiset; below, it is cut.

    Args:
        indices: 1-D non-negative integer dataset indices (list, numpy or tensor).
        shuffle: reshuffle every epoch (default) or serve ``indices`` in the given order.
        num_samples: items per epoch (global, before DDP sharding); default ``len(indices)``.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.

    Guarantees:
        * with the default ``num_samples``, an epoch is a permutation of ``indices`` (the
          multiset is preserved exactly);
        * the epoch is a pure function of ``(seed, epoch)``.

    Raises:
        TypeError: ``indices`` is not an integer array-like; ``shuffle`` is not a bool.
        ValueError: ``indices`` is empty, not 1-D or holds a negative index.

    Example:
        >>> from balancers import random_oversample
        >>> idx = random_oversample([0, 0, 0, 1])
        >>> sorted(ResampledSampler(idx, seed=0)) == sorted(idx.tolist())
        True
    """

    def __init__(
        self,
        indices: Any,
        *,
        shuffle: bool = True,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        self.indices = check_indices(indices)
        self.shuffle = check_bool(shuffle, "shuffle")
        super().__init__(
            num_samples=num_samples,
            default_num_samples=int(self.indices.shape[0]),
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        n = int(self.indices.shape[0])
        if not self.shuffle:
            return np.resize(self.indices, self.num_samples)
        if self.num_samples == n:
            return rng.permutation(self.indices)
        return self.indices[shuffled_cycles(rng, n, self.num_samples)]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={self.indices.shape[0]}, shuffle={self.shuffle}, "
            f"num_samples={self.num_samples}, seed={self.seed}, "
            f"num_replicas={self.num_replicas}, rank={self.rank})"
        )
