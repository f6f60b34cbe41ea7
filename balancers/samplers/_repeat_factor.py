"""``RepeatFactorSampler``: repeat-factor sampling (LVIS, Gupta et al. 2019) on the engine."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from .._labels import check_labels
from .._validation import check_choice, check_real
from ..detection._coco import coco_source
from ._engine import EpochSampler

__all__ = ["RepeatFactorSampler", "class_frequencies", "repeat_factors"]

_CHUNK = 1 << 22
BASES: tuple[str, ...] = ("image", "instance", "mean")


def class_frequencies(
    image_counts: npt.NDArray[np.int64],
    n_samples: int,
    instance_counts: npt.NDArray[np.int64],
    basis: str,
) -> npt.NDArray[np.float64]:
    """Per-class frequency ``f(c)`` on the given basis.

    * ``"image"``: ``f(c) = n_c / N``, the fraction of samples (images) holding ``c`` (LVIS);
    * ``"instance"``: ``f(c) = k_c / K``, the fraction of all instances that belong to ``c``;
    * ``"mean"``: ``sqrt(f_image(c) * f_instance(c))``, the geometric mean of the two (IRFS).

    Example:
        >>> class_frequencies(np.array([2, 1]), 4, np.array([6, 2]), "mean").tolist()
        [0.6123724356957945, 0.25]
    """
    image = image_counts.astype(np.float64) / n_samples
    if basis == "image":
        return image
    total = max(int(instance_counts.sum()), 1)
    instance = instance_counts.astype(np.float64) / total
    if basis == "instance":
        return instance
    return np.sqrt(image * instance)


def repeat_factors(
    counts: npt.NDArray[np.int64],
    n_samples: int,
    threshold: float,
    *,
    power: float = 0.5,
    freq: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Per-class repeat factors ``r(c) = max(1, (threshold / f(c)) ** power)``.

    ``f(c) = n_c / n`` unless ``freq`` gives it. A class without samples gets 1 (no sample
    carries it).

    Example:
        >>> repeat_factors(np.array([90, 10, 1]), 100, 0.04).round(3).tolist()
        [1.0, 1.0, 2.0]
        >>> repeat_factors(np.array([90, 10, 1]), 100, 0.04, power=1.0).round(3).tolist()
        [1.0, 1.0, 4.0]
    """
    if freq is None:
        freq = counts.astype(np.float64) / n_samples
    out = np.ones(counts.shape[0], dtype=np.float64)
    present = counts > 0
    ratio = threshold / freq[present]
    # power 0.5 keeps np.sqrt (correctly rounded): the LVIS factors stay bit for bit.
    scaled = np.sqrt(ratio) if power == 0.5 else np.power(ratio, power)
    out[present] = np.maximum(1.0, scaled)
    return out


def _threshold_above(freq: float) -> float:
    """The first value of the 1-2-5 series strictly above ``freq``."""
    exp = math.floor(math.log10(freq))
    for mantissa in (1, 2, 5, 10, 20):
        value = float(f"{mantissa}e{exp}")
        if value > freq:
            return value
    return float(f"1e{exp + 2}")  # pragma: no cover


def _warn_if_plain(
    factors: npt.NDArray[np.float64],
    freq: npt.NDArray[np.float64],
    present: npt.NDArray[np.bool_],
    threshold: float,
) -> None:
    """UserWarning when every factor is 1: the epoch would be a plain shuffled epoch."""
    if (factors > 1.0).any():
        return
    if not present.any():
        warnings.warn(
            "all repeat factors are 1: no sample carries a label, so the sampler serves a plain "
            "shuffled epoch.",
            UserWarning,
            stacklevel=3,
        )
        return
    rarest = float(freq[present].min())
    warnings.warn(
        f"all repeat factors are 1 at threshold={threshold:g}; the rarest label has frequency "
        f"{rarest:.3g}; try threshold >= {_threshold_above(rarest):g} (a sample is repeated "
        "only when one of its labels is rarer than the threshold). As it is, the sampler "
        "serves a plain shuffled epoch.",
        UserWarning,
        stacklevel=3,
    )


class RepeatFactorSampler(EpochSampler[int]):
    """Repeat-factor sampling (LVIS; Gupta, Dollar, Girshick, CVPR 2019) and its variants.

    With ``f(c)`` the frequency of class (label) ``c``, ``t`` the ``threshold`` and ``p`` the
    ``power``, class ``c`` has the repeat factor ``r(c) = max(1, (t / f(c)) ** p)`` and sample
    ``i`` the factor ``r(i) = max`` of ``r(c)`` over its labels (1 for a sample with no label).
    Each epoch, sample ``i`` appears ``floor(r(i)) + Bernoulli(r(i) - floor(r(i)))`` times
    (stochastic rounding from the ``(seed, epoch)`` generator) and the epoch is shuffled.

    ``power=0.5`` is LVIS's square root; ``power=1.0`` is the stronger rule detectron2 added
    (``REPEAT_SQRT=False``) for extreme imbalance. The frequency ``f(c)`` has three bases:

    * ``"image"`` (LVIS): the fraction of samples (images) holding ``c``;
    * ``"instance"``: the fraction of all instances that belong to ``c``, from the instance
      counts of COCO annotations (for other labels each positive is one instance);
    * ``"mean"``: the geometric mean ``sqrt(f_image * f_instance)``, as in instance-aware repeat
      factor sampling (IRFS, Yaman et al. 2023).

    Guarantees:
        * ``repeat_factors_`` holds ``r(i)`` per sample, ``class_repeat_factors_`` ``r(c)`` per
          class and ``class_frequencies_`` ``f(c)`` (ordered by sorted class id, label column,
          or sorted COCO category id);
        * every sample appears at least ``floor(r(i))`` and at most ``ceil(r(i))`` times in an
          epoch, so its expected count is exactly ``r(i)``;
        * the epoch is a pure function of ``(seed, epoch)``: its realised size is the same on
          every rank, and each rank yields an equal share of it (padded or dropped as
          ``drop_last`` says); realised sizes vary between epochs around ``sum(r(i))``;
        * ``len(sampler)`` is this rank's share of the expected epoch size ``round(sum(r(i)))``;
          one epoch's exact size is ``len(sampler.global_indices(epoch))``;
        * with ``num_samples`` set, every epoch has exactly ``num_samples`` draws: the rounded,
          shuffled passes are concatenated (fresh stochastic rounding each pass) and cut;
        * when every factor is 1 (no label rarer than ``threshold``: a plain shuffled epoch) a
          ``UserWarning`` says so and names the threshold that would make the sampler act.

    Args:
        labels: labels in any accepted form (multilabel: a sample's factor is the max over its
            labels; multiclass: its class's factor), a Dataset, or COCO annotations
            (:class:`~balancers.detection.CocoLabels`, a ``.json`` annotation file path or
            its dict, a pycocotools ``COCO`` object or torchvision's ``CocoDetection``; one
            sample per image).
        threshold: the frequency ``t`` below which classes are oversampled, > 0 (LVIS uses
            0.001).
        power: the exponent ``p`` of ``t / f(c)``, > 0 (0.5 in LVIS, 1.0 for the stronger rule).
        basis: ``"image"``, ``"instance"`` or ``"mean"``: how ``f(c)`` is counted.
        num_samples: fixed number of draws per epoch (global); None (default) for the
            stochastic epoch size.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``threshold <= 0`` or not finite, ``power <= 0``, unknown ``basis``, invalid
            labels, ``num_samples <= 0``, ``rank >= num_replicas``.

    References:
        Gupta, A., Dollar, P., Girshick, R. "LVIS: A Dataset for Large Vocabulary Instance
        Segmentation", CVPR 2019. Yaman, B., Mahmud, T., Liu, C.-H. "Instance-Aware Repeat
        Factor Sampling for Long-Tailed Object Detection", arXiv:2305.08069, 2023.

    Example:
        >>> sampler = RepeatFactorSampler([[1, 0], [1, 0], [1, 0], [0, 1]], threshold=1.0)
        >>> sampler.repeat_factors_.tolist()
        [1.1547005383792515, 1.1547005383792515, 1.1547005383792515, 2.0]
        >>> len(sampler), sorted(sampler.global_indices(0).tolist()).count(3)
        (5, 2)
        >>> RepeatFactorSampler([[1, 0], [1, 0], [1, 0], [0, 1]], threshold=1.0,
        ...                     power=1.0).class_repeat_factors_.tolist()
        [1.3333333333333333, 4.0]
    """

    def __init__(
        self,
        labels: Any,
        *,
        threshold: float = 0.001,
        power: float = 0.5,
        basis: str = "image",
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
        p = check_real(
            power,
            "power",
            low=0.0,
            low_inclusive=False,
            hint="Use power=0.5 for LVIS's square root or power=1.0 for the stronger rule.",
        )
        assert p is not None
        self.basis = check_choice(basis, "basis", BASES)
        coco = coco_source(labels)
        info = check_labels(labels if coco is None else coco.presence)
        if coco is not None:
            instances = np.asarray(coco.counts.sum(axis=0)).reshape(-1).astype(np.int64)
        else:
            instances = info.counts
        freq = class_frequencies(info.counts, info.n_samples, instances, self.basis)
        class_r = repeat_factors(info.counts, info.n_samples, t, power=p, freq=freq)
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
        self.power = p
        self.class_frequencies_: npt.NDArray[np.float64] = freq
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
        _warn_if_plain(class_r, freq, info.counts > 0, t)  # after every argument is valid

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
            f"power={self.power}, basis={self.basis!r}, expected_size={self.expected_size_:.1f}"
        )
