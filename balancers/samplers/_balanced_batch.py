"""``BalancedBatchSampler``: P x K batches (P distinct classes, K instances each)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._cycling import cycle_draws, narrow_codes
from .._labels import check_multiclass
from .._validation import check_int
from ._engine import EpochSampler

__all__ = ["BalancedBatchSampler"]

_KEY_CELLS = 1 << 22  # random keys per chunk when picking classes by partial sort


def distinct_rows(
    rng: np.random.Generator, n_rows: int, n_items: int, k: int
) -> npt.NDArray[np.int64]:
    """``(n_rows, k)`` array whose rows are uniform random k-subsets of ``range(n_items)``, in
    random order.

    Up to ``k * k <= 4 * n_items`` (at most ~86% of rows repeat an item): independent draws,
    rows with a repeat drawn again, about ``k / (1 - P(repeat))`` draws per row. Otherwise: the
    ``k`` smallest of ``n_items`` random keys per row, in chunks of rows.
    """
    if k * k <= 4 * n_items:
        out = rng.integers(0, n_items, size=(n_rows, k), dtype=np.int64)
        bad = np.arange(n_rows)
        while bad.size:
            ordered = np.sort(out[bad], axis=1)
            repeat = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
            bad = bad[repeat]
            out[bad] = rng.integers(0, n_items, size=(bad.size, k), dtype=np.int64)
        return out
    out = np.empty((n_rows, k), dtype=np.int64)
    step = max(1, _KEY_CELLS // n_items)
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        keys = rng.random((stop - start, n_items))
        if k < n_items:
            out[start:stop] = np.argpartition(keys, k - 1, axis=1)[:, :k]
        else:
            out[start:stop] = np.argsort(keys, axis=1)
    rng.permuted(out, axis=1, out=out)
    return out


class BalancedBatchSampler(EpochSampler[list[int]]):
    """A batch sampler of P x K batches: ``classes_per_batch`` distinct classes, each with
    ``samples_per_class`` instances (the batches of metric learning, e.g. FaceNet's triplet
    loss and the batch-hard loss of Hermans et al. 2017).

    The classes of each batch are a uniform random subset; the instances of a class come from
    its shuffled cycle shared across the epoch's batches (each member is used once before any
    repeats), so a class with fewer than K members is filled by cycling through them again.
    Use it as ``DataLoader(dataset, batch_sampler=sampler)``. Under DDP every rank gets whole
    batches: batch ``j`` of the epoch goes to rank ``j % num_replicas``.

    Args:
        labels: multiclass labels in any accepted form, or a Dataset.
        classes_per_batch: P, at most the number of classes.
        samples_per_class: K (``>= 1``).
        num_batches: batches per epoch (global, before DDP sharding); default
            ``max(1, n_samples // (P * K))``.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: drop the last batches so that ranks get the same number, instead of
            repeating batches from the start.

    Guarantees:
        * every batch has exactly P distinct classes with K instances each, grouped by class;
        * every class is chosen for a batch with the same probability ``P / C``;
        * the epoch is a pure function of ``(seed, epoch)``; resume counts whole batches.

    Raises:
        TypeError: an argument is not an integer.
        ValueError: ``classes_per_batch`` above the number of classes, a value ``<= 0``, or
            multilabel labels.

    References:
        Hermans, A., Beyer, L., Leibe, B. "In Defense of the Triplet Loss for Person
        Re-Identification", arXiv:1703.07737, 2017. Schroff, F. et al. "FaceNet", CVPR 2015.

    Example:
        >>> labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
        >>> sampler = BalancedBatchSampler(labels, classes_per_batch=2, samples_per_class=3)
        >>> batch = next(iter(sampler))
        >>> len(batch), len({labels[i] for i in batch})
        (6, 2)
    """

    _yields_batches = True

    def __init__(
        self,
        labels: Any,
        *,
        classes_per_batch: int,
        samples_per_class: int,
        num_batches: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        lab = check_multiclass(
            labels, "BalancedBatchSampler", "ClassAwareSampler(labels, samples_per_class=K)"
        )
        p = check_int(
            classes_per_batch,
            "classes_per_batch",
            minimum=1,
            maximum=lab.n_classes,
            hint=f"The labels have {lab.n_classes} classes; lower classes_per_batch.",
        )
        k = check_int(samples_per_class, "samples_per_class", minimum=1)
        self.classes_per_batch, self.samples_per_class = p, k
        nb = check_int(num_batches, "num_batches", minimum=1, allow_none=True)
        super().__init__(
            num_samples=nb,
            default_num_samples=max(1, lab.n_samples // (p * k)),
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )
        self.labels = lab
        self._indptr, self._rows = lab.class_members

    @property
    def num_batches(self) -> int:
        """Batches per epoch, before DDP sharding."""
        return self.num_samples

    @property
    def batch_size(self) -> int:
        """P x K."""
        return self.classes_per_batch * self.samples_per_class

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        p, k, b = self.classes_per_batch, self.samples_per_class, self.num_batches
        classes = distinct_rows(rng, b, self.labels.n_classes, p)
        draws = narrow_codes(np.repeat(classes.reshape(-1), k), self.labels.n_classes)
        return cycle_draws(self._indptr, self._rows, draws, rng).reshape(b, p * k)

    def extra_repr(self) -> str:
        return (
            f"n={self.labels.n_samples}, classes={self.labels.n_classes}, "
            f"classes_per_batch={self.classes_per_batch}, "
            f"samples_per_class={self.samples_per_class}, num_batches={self.num_batches}"
        )
