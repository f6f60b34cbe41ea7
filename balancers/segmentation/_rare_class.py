"""``RareClassSampler``: DAFormer's rare-class sampling for semantic segmentation."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .._cycling import cycle_draws, draw_classes
from .._labels import check_labels
from .._rng import make_rng
from .._validation import check_int, check_real
from ..samplers._class_balanced import ClassThenInstanceSampler
from ._pixels import check_pixel_counts

__all__ = ["RareClassSampler", "rare_class_probabilities"]


def rare_class_probabilities(
    frequencies: npt.NDArray[np.float64], temperature: float
) -> npt.NDArray[np.float64]:
    """``softmax((1 - f) / T)``: DAFormer's class probabilities, computed stably.

    Example:
        >>> rare_class_probabilities(np.array([0.9, 0.1]), 1.0).round(4).tolist()
        [0.31, 0.69]
    """
    logits = (1.0 - frequencies) / temperature
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


class RareClassSampler(ClassThenInstanceSampler):
    """Rare-class sampling (DAFormer; Hoyer, Dai, Van Gool, CVPR 2022).

    With ``f_c`` the share of all counted pixels that belong to class ``c`` and ``T`` the
    ``temperature``, each draw picks a class with probability
    ``p_c = exp((1 - f_c) / T) / sum_k exp((1 - f_k) / T)``, then an image holding at least
    ``min_pixels`` pixels of it. The images of a class are taken from a shuffled list that is
    reshuffled when exhausted, so every eligible image of a class is used before any repeats.
    A smaller ``T`` concentrates the draws on the rarest classes; a large ``T`` tends to the
    uniform distribution over classes.

    Classes with no image reaching ``min_pixels`` (including classes with no pixel at all)
    cannot be drawn: they are skipped with a ``UserWarning`` naming them, and the softmax runs
    over the other classes.

    Guarantees:
        * the class of each draw is independent, with probability ``class_probabilities_[c]``
          (the softmax above over the classes that can be drawn, 0 for skipped classes);
        * every served image holds at least ``min_pixels`` pixels of its draw's class
          (:meth:`class_draws` returns both);
        * among the draws of class ``c`` in one epoch, each consecutive run of ``m_c`` draws
          (``m_c`` images eligible for ``c``) uses every eligible image exactly once;
        * the epoch is a pure function of ``(seed, epoch)``; DDP shards and mid-epoch resume as
          for every balancers sampler.

    Args:
        pixel_counts: ``(n_images, n_classes)`` pixel counts, as returned by
            :func:`~balancers.segmentation.pixel_class_counts` (sparse, numpy or torch).
        temperature: the softmax temperature ``T`` > 0 (DAFormer uses 0.01).
        min_pixels: pixels of a class an image needs to be drawn for it (>= 1; DAFormer uses
            3000 on Cityscapes crops).
        num_samples: draws per epoch (global, before DDP sharding); default the number of
            images.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.

    Raises:
        TypeError: wrongly typed arguments.
        ValueError: invalid ``pixel_counts``; ``temperature <= 0`` or not finite;
            ``min_pixels < 1``; no class has an image reaching ``min_pixels``.

    References:
        Hoyer, L., Dai, D., Van Gool, L. "DAFormer: Improving Network Architectures and
        Training Strategies for Domain-Adaptive Semantic Segmentation", CVPR 2022.

    Example:
        >>> counts = np.array([[900, 100, 0], [1000, 0, 0], [950, 0, 50]])
        >>> sampler = RareClassSampler(counts, temperature=0.1, seed=0)
        >>> sampler.class_probabilities_.round(3).tolist()
        [0.0, 0.458, 0.542]
        >>> classes, images = sampler.class_draws(0)
        >>> bool((counts[images, classes] >= 1).all())
        True
    """

    def __init__(
        self,
        pixel_counts: Any,
        *,
        temperature: float = 0.01,
        min_pixels: int = 1,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        counts = check_pixel_counts(pixel_counts)
        t = check_real(
            temperature,
            "temperature",
            low=0.0,
            low_inclusive=False,
            hint="DAFormer uses temperature=0.01; larger values sample classes more evenly.",
        )
        assert t is not None
        m = check_int(min_pixels, "min_pixels", minimum=1)
        assert m is not None
        totals = np.asarray(counts.sum(axis=0)).reshape(-1).astype(np.float64)
        freq = totals / totals.sum()
        eligible = sp.csr_array(
            ((counts.data >= m).astype(np.int8), counts.indices, counts.indptr),
            shape=counts.shape,
        )
        eligible.eliminate_zeros()
        labels = check_labels(eligible, "pixel_counts")
        drawable = labels.counts > 0
        if not drawable.any():
            raise ValueError(
                f"`min_pixels` should be reached by at least one image of some class, but no "
                f"image has min_pixels={m} pixels of any class (the largest count is "
                f"{int(counts.data.max())}). Lower min_pixels."
            )
        skipped = np.flatnonzero(~drawable)
        if skipped.size:
            absent = int((totals[skipped] == 0).sum())
            shown = skipped.tolist()[:20]
            warnings.warn(
                f"RareClassSampler skips classes {shown}{' ...' if skipped.size > 20 else ''} "
                f"({skipped.size} classes, {absent} of them with no pixel at all): no image "
                f"has min_pixels={m} pixels of them, so they are never drawn and the softmax "
                "runs over the other classes. Lower min_pixels to draw them.",
                UserWarning,
                stacklevel=2,
            )
        probs = np.zeros(counts.shape[1], dtype=np.float64)
        probs[drawable] = rare_class_probabilities(freq[drawable], t)
        self.temperature = t
        self.min_pixels = m
        self.class_frequencies_: npt.NDArray[np.float64] = freq
        self.class_probabilities_: npt.NDArray[np.float64] = probs
        self.skipped_classes_: npt.NDArray[np.int64] = skipped.astype(np.int64)
        super().__init__(
            labels,
            num_samples=num_samples,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )

    def class_probabilities(self, epoch: int = 0) -> npt.NDArray[np.float64]:
        """Probability of drawing each class (any epoch); 0 for skipped classes."""
        return self.class_probabilities_.copy()

    def _draws(
        self, rng: np.random.Generator
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        probs = self.class_probabilities_[self._groups]
        draws = draw_classes(rng, probs / probs.sum(), self.num_samples)
        images = cycle_draws(self._indptr, self._rows, draws, rng)
        return self._groups[draws.astype(np.int64)], images

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        return self._draws(rng)[1]

    def class_draws(
        self, epoch: int | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(classes, images)`` of ``epoch`` (default: the next epoch), before sharding.

        ``images`` is :meth:`global_indices` of the epoch and ``classes[j]`` the class draw
        ``j`` was made for (to crop around it, for instance).
        """
        e = self.epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        assert e is not None
        return self._draws(make_rng(self.seed, e))

    def _own_repr(self) -> str:
        return f"temperature={self.temperature:g}, min_pixels={self.min_pixels}"
