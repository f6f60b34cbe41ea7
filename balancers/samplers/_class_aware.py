"""``ClassAwareSampler``: cycle through shuffled classes, then through each class's instances."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._cycling import cycle_draws, narrow_codes
from .._validation import check_int
from ._class_balanced import ClassThenInstanceSampler, _check_labels_any

__all__ = ["ClassAwareSampler", "shuffled_cycles"]


def shuffled_cycles(rng: np.random.Generator, n_items: int, size: int) -> npt.NDArray[np.int64]:
    """``size`` items from consecutive independent shuffles of ``range(n_items)``."""
    rounds = -(-size // n_items)
    block = np.tile(np.arange(n_items, dtype=np.int64), (rounds, 1))
    rng.permuted(block, axis=1, out=block)
    return block.reshape(-1)[:size]


class ClassAwareSampler(ClassThenInstanceSampler):
    """Class-aware sampling: visit classes in shuffled rounds, each visit takes instances.

    The classes are visited in a shuffled order; when every class has been visited once, the
    order is reshuffled (Shen et al. 2016, as in mmdetection's ``ClassAwareSampler``). Each
    visit takes the next ``samples_per_class`` instances of the class from its own shuffled
    cycle (each member is used once before any repeats). Every class is therefore equally
    represented whatever its size.

    Multilabel labels: a class is a label and its instances are the rows containing it (a row
    can serve any of its labels). Rows with no positive label are never drawn, unless
    ``no_label_group=True``: they then form one more group, visited like a class. Labels with
    no positive row are never visited.

    Args:
        labels: labels in any accepted form (multiclass or multilabel), or a Dataset.
        samples_per_class: instances taken per class visit (``>= 1``).
        num_samples: draws per epoch (global, before DDP sharding); default the dataset size.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.
        no_label_group: visit the multilabel rows with no positive label as one more group
            (as :func:`balancers.sample_weights` weighs them) instead of never drawing them.

    Guarantees:
        * with ``C`` classes with members (plus the no-label group, if drawn) and
          ``k = samples_per_class``, positions ``[j*C*k, (j+1)*C*k)`` of an epoch hold ``k``
          instances of every class;
        * instances of a class cycle through shuffled lists of its members;
        * the epoch is a pure function of ``(seed, epoch)``.

    Raises:
        TypeError: ``samples_per_class`` is not an integer.
        ValueError: ``samples_per_class <= 0``; invalid labels.

    References:
        Shen, L., Lin, Z., Huang, Q. "Relay Backpropagation for Effective Learning of Deep
        Convolutional Neural Networks", ECCV 2016.

    Example:
        >>> labels = [0, 0, 0, 0, 1, 2]
        >>> sampler = ClassAwareSampler(labels, num_samples=6, seed=0)
        >>> draws = list(sampler)
        >>> sorted(labels[i] for i in draws[:3]), sorted(labels[i] for i in draws[3:])
        ([0, 1, 2], [0, 1, 2])
    """

    def __init__(
        self,
        labels: Any,
        *,
        samples_per_class: int = 1,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
        no_label_group: bool = False,
    ) -> None:
        lab = _check_labels_any(labels, no_label_group)
        checked = check_int(samples_per_class, "samples_per_class", minimum=1)
        assert checked is not None
        self.samples_per_class = checked
        super().__init__(
            lab,
            num_samples=num_samples,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
            no_label_group=no_label_group,
        )

    def class_probabilities(self, epoch: int = 0) -> npt.NDArray[np.float64]:
        """Long-run share of each class (uniform over classes with members).

        With ``no_label_group=True`` one more entry follows: the group of rows with no label.
        """
        probs = np.zeros(self._group_sizes().shape[0], dtype=np.float64)
        probs[self._groups] = 1.0 / self._groups.shape[0]
        return probs

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        k = self.samples_per_class
        n_groups = int(self._groups.shape[0])
        visits = shuffled_cycles(rng, n_groups, -(-self.num_samples // k))
        draws = narrow_codes(np.repeat(visits, k)[: self.num_samples], n_groups)
        return cycle_draws(self._indptr, self._rows, draws, rng)

    def _own_repr(self) -> str:
        group = ", no_label_group=True" if self.no_label_group else ""
        return f"samples_per_class={self.samples_per_class}{group}"
