"""``ResampledSampler``: serve a fixed resampled index multiset, reshuffled every epoch."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import check_bool, check_indices
from ._class_aware import shuffled_cycles
from ._engine import EpochSampler

__all__ = ["ResampledSampler"]


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
        self.indices = check_indices(
            indices,
            noun="indices",
            hint="Pass the output of random_oversample/random_undersample, or an integer array.",
        )
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

    def extra_repr(self) -> str:
        return f"n={self.indices.shape[0]}, shuffle={self.shuffle}, num_samples={self.num_samples}"
