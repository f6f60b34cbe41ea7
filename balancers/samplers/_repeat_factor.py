"""``RepeatFactorSampler``: repeat-factor sampling (LVIS, Gupta et al. 2019) on the engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._labels import check_labels
from .._validation import check_real
from ._engine import EpochSampler

__all__ = ["RepeatFactorSampler", "repeat_factors"]

_CHUNK = 1 << 22


def repeat_factors(
    counts: npt.NDArray[np.int64],
    n_samples: int,
    threshold: float,
) -> npt.NDArray[np.float64]:
    """Per-class repeat factors ``r(c) = max(1, sqrt(threshold / f(c)))``, ``f(c) = n_c / n``.

    A class without samples gets 1 (no sample carries it).

    Example:
        >>> repeat_factors(np.array([90, 10, 1]), 100, 0.04).round(3).tolist()
        [1.0, 1.0, 2.0]
    """
    freq = counts.astype(np.float64) / n_samples
    out = np.ones(counts.shape[0], dtype=np.float64)
    present = counts > 0
    out[present] = np.maximum(1.0, np.sqrt(threshold / freq[present]))
    return out


class RepeatFactorSampler(EpochSampler[int]):
    """Repeat-factor sampling (LVIS; Gupta, Dollar, Girshick, CVPR 2019).

    With ``f(c)`` the fraction of samples that carry class (label) ``c`` and ``t`` the
    ``threshold``, class ``c`` has the repeat factor ``r(c) = max(1, sqrt(t / f(c)))`` and sample
    ``i`` the factor ``r(i) = max`` of ``r(c)`` over its labels (1 for a sample with no label).
    Each epoch, sample ``i`` appears ``floor(r(i)) + Bernoulli(r(i) - floor(r(i)))`` times
    (stochastic rounding from the ``(seed, epoch)`` generator) and the epoch is shuffled.

    Guarantees:
        * ``repeat_factors_`` holds ``r(i)`` per sample, ``class_repeat_factors_`` ``r(c)`` per
          class (ordered by sorted class id, or label column);
        * every sample appears at least ``floor(r(i))`` and at most ``ceil(r(i))`` times in an
          epoch, so its expected count is exactly ``r(i)``;
        * the epoch is a pure function of ``(seed, epoch)``: its realised size is the same on
          every rank, and each rank yields an equal share of it (padded or dropped as
          ``drop_last`` says); realised sizes vary between epochs around ``sum(r(i))``;
        * ``len(sampler)`` is this rank's share of the expected epoch size ``round(sum(r(i)))``;
          one epoch's exact size is ``len(sampler.global_indices(epoch))``;
        * with ``num_samples`` set, every epoch has exactly ``num_samples`` draws: the rounded,
          shuffled passes are concatenated (fresh stochastic rounding each pass) and cut.

    Args:
        labels: labels in any accepted form (multilabel: a sample's factor is the max over its
            labels; multiclass: its class's factor), or a Dataset.
        threshold: the frequency ``t`` below which classes are oversampled, > 0 (LVIS uses
            0.001).
        num_samples: fixed number of draws per epoch (global); None (default) for the
            stochastic epoch size.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``threshold <= 0`` or not finite, invalid labels, ``num_samples <= 0``,
            ``rank >= num_replicas``.

    Example:
        >>> sampler = RepeatFactorSampler([[1, 0], [1, 0], [1, 0], [0, 1]], threshold=1.0)
        >>> sampler.repeat_factors_.tolist()
        [1.1547005383792515, 1.1547005383792515, 1.1547005383792515, 2.0]
        >>> len(sampler), sorted(sampler.global_indices(0).tolist()).count(3)
        (5, 2)
    """

    def __init__(
        self,
        labels: Any,
        *,
        threshold: float = 0.001,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        t = check_real(
            threshold,
            "threshold",
            low=0.0,
            low_inclusive=False,
            hint="It is a class frequency, e.g. threshold=0.001 as in LVIS.",
        )
        assert t is not None
        info = check_labels(labels)
        class_r = repeat_factors(info.counts, info.n_samples, t)
        if info.is_multilabel:
            assert info.matrix is not None
            matrix = info.matrix
            r = np.ones(info.n_samples, dtype=np.float64)
            has = np.flatnonzero(info.row_label_counts > 0)
            if has.size:
                r[has] = np.maximum.reduceat(class_r[matrix.indices], matrix.indptr[:-1][has])
        else:
            assert info.codes is not None
            r = class_r[info.codes]
        self.threshold = t
        self.class_repeat_factors_: npt.NDArray[np.float64] = class_r
        self.repeat_factors_: npt.NDArray[np.float64] = r
        self.expected_size_ = float(r.sum())
        self._fixed = num_samples is not None
        self._base = r.astype(np.int64)  # floor: r >= 1
        self._frac = r - self._base
        super().__init__(
            num_samples=num_samples,
            default_num_samples=max(1, round(self.expected_size_)),
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )

    def _one_pass(self, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        n = int(self._base.shape[0])
        reps = self._base.copy()
        for start in range(0, n, _CHUNK):
            stop = min(start + _CHUNK, n)
            reps[start:stop] += rng.random(stop - start) < self._frac[start:stop]
        epoch = np.repeat(np.arange(n, dtype=np.int64), reps)
        rng.shuffle(epoch)
        return epoch

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        if not self._fixed:
            return self._one_pass(rng)
        parts: list[npt.NDArray[np.int64]] = []
        have = 0
        while have < self.num_samples:
            part = self._one_pass(rng)
            parts.append(part)
            have += int(part.shape[0])
        return np.concatenate(parts)[: self.num_samples]

    def extra_repr(self) -> str:
        return (
            f"n={self.repeat_factors_.shape[0]}, threshold={self.threshold}, "
            f"expected_size={self.expected_size_:.1f}"
        )
