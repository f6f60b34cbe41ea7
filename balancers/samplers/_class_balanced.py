"""``ClassBalancedSampler``: a class drawn with probability proportional to n_c^q, then an
instance of it, cycling through a shuffled list of the class's members."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._cycling import cycle_draws, draw_classes
from .._labels import Labels, check_labels
from .._validation import check_bool, check_real
from ._engine import EpochSampler

__all__ = ["ClassBalancedSampler"]


class ClassThenInstanceSampler(EpochSampler[int]):
    """Base of the samplers that draw a class, then the next instance of its shuffled cycle.

    Subclasses give the class probabilities of an epoch (:meth:`class_probabilities`). Classes
    with no members (a multilabel column with no positive row) get probability 0. With
    ``no_label_group=True`` the multilabel rows with no positive label form one more group,
    after the classes (position ``n_classes`` of :meth:`class_probabilities`).
    """

    def __init__(
        self,
        labels: Labels,
        *,
        num_samples: int | None,
        seed: int | None,
        num_replicas: int | None,
        rank: int | None,
        drop_last: bool,
        no_label_group: bool = False,
    ) -> None:
        self.no_label_group = check_bool(no_label_group, "no_label_group")
        super().__init__(
            num_samples=num_samples,
            default_num_samples=labels.n_samples,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )
        self.labels = labels
        indptr, self._rows = labels.class_members
        # The groups drawn from: classes with members, then (optionally) the rows with no label.
        self._groups = np.flatnonzero(labels.counts > 0)
        # Inverted index restricted to those groups (empty ranges dropped).
        self._indptr = np.concatenate([[0], indptr[self._groups + 1]]).astype(np.int64)
        empty = labels.empty_rows
        if self.no_label_group and empty.size:
            self._groups = np.append(self._groups, labels.n_classes)
            self._rows = np.concatenate([self._rows, empty])
            self._indptr = np.append(self._indptr, self._rows.shape[0])

    def _group_sizes(self) -> npt.NDArray[np.int64]:
        """Members of each class, then of the no-label group when it is drawn from."""
        sizes = self.labels.counts
        if self.no_label_group:
            sizes = np.append(sizes, self.labels.empty_rows.shape[0])
        return sizes

    def class_probabilities(self, epoch: int = 0) -> npt.NDArray[np.float64]:
        """Probability of drawing each class (ordered like ``labels.classes``) in ``epoch``."""
        raise NotImplementedError

    def _own_repr(self) -> str:
        """The subclass's own arguments for ``repr`` (between the labels and ``num_samples``)."""
        return ""

    def extra_repr(self) -> str:
        own = self._own_repr()
        return (
            f"n={self.labels.n_samples}, classes={self.labels.n_classes}, "
            f"{own + ', ' if own else ''}num_samples={self.num_samples}"
        )

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        probs = self.class_probabilities(epoch)[self._groups]
        draws = draw_classes(rng, probs / probs.sum(), self.num_samples)
        return cycle_draws(self._indptr, self._rows, draws, rng)


def _check_labels_any(labels: Any, no_label_group: Any = False) -> Labels:
    lab = check_labels(labels)
    if not (lab.counts > 0).any() and no_label_group is not True:
        raise ValueError(
            "`labels` should have at least one positive label, but every row of the multilabel "
            "matrix is empty; no row can be drawn. Pass no_label_group=True to draw them as one "
            "group."
        )
    return lab


class ClassBalancedSampler(ClassThenInstanceSampler):
    """Draw a class with probability proportional to ``n_c ** q``, then an instance of it.

    ``q=1`` is instance-balanced sampling (the label distribution), ``q=0.5`` square-root
    sampling and ``q=0`` class-balanced sampling (every class equally often), as compared by
    Kang et al. (2020). Within a class, instances are taken from a shuffled list of the class's
    members, reshuffled when exhausted, so a class of 10 items drawn 100 times serves each item
    exactly 10 times rather than a Poisson-like number of times.

    Multilabel labels: a class is a label and its instances are the rows containing it; a row
    with several labels can be drawn through any of them. Rows with no positive label are never
    drawn unless ``no_label_group=True``, which makes them one more group (of size the number
    of such rows); labels with no positive row get probability 0.

    Args:
        labels: labels in any accepted form (multiclass or multilabel), or a Dataset.
        q: exponent of the class sizes, ``q >= 0``.
        num_samples: draws per epoch (global, before DDP sharding); default the dataset size.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.
        no_label_group: draw the multilabel rows with no positive label as one more group
            (as :func:`balancers.sample_weights` weighs them) instead of never.

    Guarantees:
        * the class of each draw is independent, with probability ``n_c^q / sum_k n_k^q``;
        * among the draws of class ``c`` in one epoch, in order, each consecutive run of
          ``n_c`` draws (aligned on multiples of ``n_c``) uses every member of ``c`` exactly
          once; a member is thus used ``floor`` or ``ceil`` of ``draws_c / n_c`` times;
        * the epoch is a pure function of ``(seed, epoch)``; DDP shards and mid-epoch resume as
          for every balancers sampler.

    Raises:
        TypeError: ``q`` is not a real number, or another argument has the wrong type.
        ValueError: ``q`` is negative or not finite; ``labels`` are invalid or have no
            positive label at all.

    References:
        Kang, B. et al. "Decoupling Representation and Classifier for Long-Tailed Recognition",
        ICLR 2020. Mahajan, D. et al. "Exploring the Limits of Weakly Supervised Pretraining",
        ECCV 2018 (square-root sampling).

    Example:
        >>> sampler = ClassBalancedSampler([0] * 90 + [1] * 10, q=0.0, seed=0)
        >>> draws = list(sampler)
        >>> len(draws), sum(i >= 90 for i in draws) > 35
        (100, True)
    """

    def __init__(
        self,
        labels: Any,
        *,
        q: float = 0.0,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
        no_label_group: bool = False,
    ) -> None:
        lab = _check_labels_any(labels, no_label_group)
        checked = check_real(
            q,
            "q",
            low=0.0,
            hint="Use q=1 for instance-balanced, q=0.5 for square-root or q=0 for "
            "class-balanced sampling.",
        )
        assert checked is not None
        self.q = checked
        super().__init__(
            lab,
            num_samples=num_samples,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
            no_label_group=no_label_group,
        )
        sizes = self._group_sizes()
        weights = np.zeros(sizes.shape[0], dtype=np.float64)
        weights[self._groups] = sizes[self._groups].astype(np.float64) ** self.q
        self._probs = weights / weights.sum()

    def class_probabilities(self, epoch: int = 0) -> npt.NDArray[np.float64]:
        """Probability of drawing each class, ordered like ``labels.classes`` (any epoch).

        With ``no_label_group=True`` one more entry follows: the group of rows with no label.
        """
        return self._probs.copy()

    def _own_repr(self) -> str:
        return f"q={self.q:g}" + (", no_label_group=True" if self.no_label_group else "")


def check_multiclass(labels: Any, owner: str, alternatives: str) -> Labels:
    """Validated multiclass labels; multilabel labels are rejected naming ``alternatives``."""
    lab = check_labels(labels)
    if lab.is_multilabel:
        raise ValueError(
            f"`labels` should be multiclass (a 1-D array of class ids) for {owner}, but got "
            f"multilabel labels of shape {(lab.n_samples, lab.n_classes)}. For multilabel data "
            f"use {alternatives}."
        )
    return lab
