"""Scikit-learn splitters over :mod:`._iterative`: K folds and a train/test split."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import BaseCrossValidator

from .._labels import Labels, check_labels
from .._rng import make_rng, resolve_seed
from .._validation import check_bool, check_int, describe_value
from ._groups import assign_groups, check_groups
from ._iterative import item_index, iterative_folds

__all__ = [
    "IterativeStratifiedGroupKFold",
    "IterativeStratifiedKFold",
    "iterative_train_test_split",
]

RandomState = int | np.random.RandomState | np.random.Generator | None


def _check_order(order: Any) -> int:
    value = check_int(order, "order", hint="Use order=1 (labels) or order=2 (label pairs).")
    if value not in (1, 2):
        raise ValueError(f"`order` should be 1 (labels) or 2 (label pairs), but got order={value}.")
    return value


def _check_random_state(random_state: Any, shuffle: bool) -> None:
    if not isinstance(random_state, np.random.RandomState | np.random.Generator):
        check_int(
            random_state,
            "random_state",
            minimum=0,
            allow_none=True,
            hint="Pass an int seed, a numpy RandomState or Generator, or None.",
        )
    if random_state is not None and not shuffle:
        raise ValueError(
            "`random_state` has no effect when shuffle=False, but got "
            f"random_state={describe_value(random_state)}. Leave random_state=None, or set "
            "shuffle=True."
        )


def _rng(random_state: RandomState, shuffle: bool) -> np.random.Generator | None:
    """The generator of one split call: None (deterministic) unless ``shuffle``."""
    if not shuffle:
        return None
    if isinstance(random_state, np.random.RandomState):
        seed = int(random_state.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
    elif isinstance(random_state, np.random.Generator):
        seed = int(random_state.integers(0, np.iinfo(np.int64).max))
    else:
        seed = resolve_seed(random_state)
    return make_rng(seed)


def _n_rows(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError as exc:
        raise TypeError(
            f"`X` should be an array-like with one row per sample, but got {describe_value(X)} "
            f"of type {type(X).__name__}."
        ) from exc


class IterativeStratifiedKFold(BaseCrossValidator):  # type: ignore[misc]
    """K-fold cross-validation that keeps every label's (or label pair's) share in every fold.

    Iterative stratification (Sechidis et al. 2011) for ``order=1``; over label pairs
    (Szymański & Kajdanowicz 2017) for ``order=2``. Repeatedly takes the label (pair) with the
    fewest unassigned examples and places each of them in the fold that most wants that label,
    ties going to the fold that most wants examples, then to a random fold (``shuffle=True``)
    or the lowest-numbered fold (``shuffle=False``). Rows with no label fill the folds that are
    furthest below their size. Each label's examples are placed in one vectorized batch (the
    exact result of the one-example-at-a-time procedure), so a split costs O(nnz log nnz) numpy
    work plus one small Python step per label (or label pair present).

    Guarantees:

    - the test folds are disjoint and cover all samples; each ``(train, test)`` pair partitions
      ``range(n_samples)``; indices are sorted;
    - ``shuffle=False`` is deterministic (ties by label and fold number, rows in index order);
      with ``shuffle=True`` the same ``random_state`` (an int) gives the same folds;
    - a label with at least ``n_splits`` positives has a positive in every fold, unless its
      positives were taken earlier by rarer labels sharing their rows;
    - multiclass 1-D labels: fold sizes differ by at most 1 and each class's count by at most 1
      across folds (ordinary stratified K-fold);
    - multilabel: each label's count per fold is steered to ``count / n_splits``; fold sizes
      follow through the tie-breaks and the rows with no label, with no bound fixed in advance
      (the papers' algorithm puts label balance first). Measure a split with
      :func:`balancers.stratification_report` (ED is the mean size deviation).

    Args:
        n_splits: number of folds, at least 2.
        order: 1 to balance labels, 2 to balance label pairs (which includes single labels).
        shuffle: break ties at random and visit rows in a random order; otherwise deterministic.
        random_state: seed (int), numpy ``RandomState`` or ``Generator``, or None for fresh
            entropy on each ``split`` call. Only with ``shuffle=True``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``n_splits < 2``, ``order`` not 1 or 2, or ``random_state`` set while
            ``shuffle=False``.

    Example:
        >>> import numpy as np
        >>> y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [0, 0], [0, 0]])
        >>> cv = IterativeStratifiedKFold(n_splits=2)
        >>> [test.tolist() for _, test in cv.split(np.zeros(8), y)]
        [[0, 2, 4, 6], [1, 3, 5, 7]]
        >>> [y[test].sum(axis=0).tolist() for _, test in cv.split(None, y)]
        [[2, 2], [2, 2]]
        >>> cv
        IterativeStratifiedKFold(n_splits=2, order=1, random_state=None, shuffle=False)

    References:
        Sechidis, Tsoumakas & Vlahavas, "On the stratification of multi-label data", ECML PKDD
        2011. Szymański & Kajdanowicz, "A network perspective on stratification of multi-label
        data", LIDTA 2017 (PMLR 74).
    """

    def __init__(
        self,
        n_splits: int = 5,
        *,
        order: int = 1,
        shuffle: bool = False,
        random_state: RandomState = None,
    ) -> None:
        check_int(
            n_splits,
            "n_splits",
            minimum=2,
            hint="K-fold cross-validation needs at least one train/test split: use n_splits=2 "
            "or more.",
        )
        _check_order(order)
        check_bool(shuffle, "shuffle")
        _check_random_state(random_state, bool(shuffle))
        self.n_splits = n_splits
        self.order = order
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of splitting iterations: ``n_splits``."""
        return int(self.n_splits)

    def test_folds(self, X: Any, y: Any) -> npt.NDArray[np.int64]:
        """The fold number (0..n_splits-1) of every sample.

        Args:
            X: the samples (only their number is used), or None.
            y: labels in any form of the API (1-D classes, 2-D 0/1, scipy.sparse, Dataset).

        Raises:
            ValueError: ``y`` is missing or invalid, its length differs from ``X``'s, or there are
                fewer samples than folds.
        """
        labels = self._labels(X, y)
        return _assign(
            labels,
            np.ones(self.n_splits, dtype=np.int64),
            self.order,
            _rng(self.random_state, self.shuffle),
        )

    def _labels(self, X: Any, y: Any) -> Labels:
        if y is None:
            raise ValueError(
                "`y` is required: iterative stratification splits by the labels. Pass the labels "
                "as split(X, y)."
            )
        labels = check_labels(y, "y")
        n = labels.n_samples
        if X is not None and _n_rows(X) != n:
            raise ValueError(
                f"`X` and `y` should have the same number of samples, but got {_n_rows(X)} rows "
                f"in X and {n} in y."
            )
        if self.n_splits > n:
            raise ValueError(
                f"`n_splits` should be at most the number of samples ({n}), but got "
                f"n_splits={self.n_splits}. Lower n_splits."
            )
        return labels

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """Generate ``(train, test)`` index arrays, one pair per fold.

        The folds are computed (and the arguments checked) when ``split`` is called.

        Args:
            X: the samples (only their number is used), or None.
            y: labels in any form of the API (1-D classes, 2-D 0/1, scipy.sparse, Dataset).
            groups: ignored, for scikit-learn compatibility.
        """
        folds = self.test_folds(X, y)
        return _pairs(folds, self.n_splits)

    def _iter_test_indices(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[npt.NDArray[np.int64]]:
        folds = self.test_folds(X, y)
        for j in range(self.n_splits):
            yield np.flatnonzero(folds == j).astype(np.int64)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_splits={self.n_splits}, order={self.order}, "
            f"random_state={self.random_state!r}, shuffle={self.shuffle})"
        )


class IterativeStratifiedGroupKFold(IterativeStratifiedKFold):
    """K-fold cross-validation that keeps each group in one fold and every label's share.

    Every row of a group (a patient, a subject, a recording session) lands in the same fold;
    folds are balanced in rows (not in groups); labels (or label pairs, ``order=2``) are
    stratified as well as the grouping allows. A group is a super-row whose count of each label
    is the number of its rows holding that label: iterative stratification (Sechidis et al. 2011)
    takes the label with the fewest unassigned groups, places its groups (largest share of the
    label first) each in the fold whose label and row targets it best fills, and ends with the
    groups that hold no label, largest first, in the folds furthest below their row share.
    Multiclass 1-D labels work too (one label per class).

    Guarantees:

    - no group is split: all rows of a group are in the same test fold;
    - the test folds are disjoint and cover all samples; indices are sorted;
    - ``shuffle=False`` is deterministic; with ``shuffle=True`` the same ``random_state`` (an int)
      gives the same folds;
    - a single group with more rows than a fold's share (``n_samples / n_splits``) raises a
      ``UserWarning`` (that fold cannot keep its size); the split is still made.

    Args:
        n_splits: number of folds, at least 2 and at most the number of groups.
        order: 1 to balance labels, 2 to balance label pairs (which includes single labels).
        shuffle: break ties at random and visit groups in a random order; otherwise
            deterministic.
        random_state: seed (int), numpy ``RandomState`` or ``Generator``, or None for fresh
            entropy on each ``split`` call. Only with ``shuffle=True``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``n_splits < 2``, ``order`` not 1 or 2, ``random_state`` set while
            ``shuffle=False``; from ``split``: ``groups`` missing, of another length than ``y``,
            or with fewer groups than ``n_splits``.

    Example:
        >>> import numpy as np
        >>> y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [0, 0], [0, 0]])
        >>> groups = np.array([0, 0, 1, 1, 2, 3, 4, 5])
        >>> cv = IterativeStratifiedGroupKFold(n_splits=2)
        >>> [test.tolist() for _, test in cv.split(None, y, groups)]
        [[0, 1, 2, 3], [4, 5, 6, 7]]
        >>> [y[test].sum(axis=0).tolist() for _, test in cv.split(None, y, groups)]
        [[2, 2], [2, 2]]

    References:
        Sechidis, Tsoumakas & Vlahavas, "On the stratification of multi-label data", ECML PKDD
        2011. Szymański & Kajdanowicz, LIDTA 2017 (PMLR 74).
    """

    def test_folds(self, X: Any, y: Any, groups: Any = None) -> npt.NDArray[np.int64]:
        """The fold number (0..n_splits-1) of every sample.

        Args:
            X: the samples (only their number is used), or None.
            y: labels in any form of the API (1-D classes, 2-D 0/1, scipy.sparse, Dataset).
            groups: one group id per sample.

        Raises:
            ValueError: ``y`` or ``groups`` missing or invalid, lengths that differ, or fewer
                groups than folds.
        """
        labels = self._labels(X, y)
        group_ids, n_groups = check_groups(groups, labels.n_samples)
        return assign_groups(
            labels,
            group_ids,
            n_groups,
            np.ones(self.n_splits, dtype=np.int64),
            self.order,
            _rng(self.random_state, self.shuffle),
        )

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """Generate ``(train, test)`` index arrays, one pair per fold.

        Args:
            X: the samples (only their number is used), or None.
            y: labels in any form of the API (1-D classes, 2-D 0/1, scipy.sparse, Dataset).
            groups: one group id per sample (ints, strings, ...); required.
        """
        return _pairs(self.test_folds(X, y, groups), self.n_splits)

    def _iter_test_indices(
        self, X: Any = None, y: Any = None, groups: Any = None
    ) -> Iterator[npt.NDArray[np.int64]]:
        folds = self.test_folds(X, y, groups)
        for j in range(self.n_splits):
            yield np.flatnonzero(folds == j).astype(np.int64)


def _pairs(
    folds: npt.NDArray[np.int64], n_splits: int
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    for j in range(n_splits):
        mask = folds == j
        yield np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)


def _assign(
    labels: Labels,
    weights: npt.NDArray[np.int64],
    order: int,
    rng: np.random.Generator | None,
) -> npt.NDArray[np.int64]:
    return iterative_folds(item_index(labels, order), weights, rng)


def _size(value: Any, name: str, n: int) -> int | None:
    """Resolve a train/test size (fraction or count) to a count, as scikit-learn does."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` should be a fraction in (0, 1) or a number of samples, but got "
            f"{name}={describe_value(value)} of type {type(value).__name__}."
        )
    if isinstance(value, numbers.Integral):
        count = int(value)
        if not 1 <= count <= n - 1:
            raise ValueError(
                f"`{name}` should be a number of samples in [1, {n - 1}] (there are {n} samples), "
                f"but got {name}={count}. Pass a count in that range or a fraction in (0, 1)."
            )
        return count
    fraction = float(value)
    if not (math.isfinite(fraction) and 0.0 < fraction < 1.0):
        raise ValueError(
            f"`{name}` should be a fraction in (0, 1) or a number of samples, but got "
            f"{name}={value!r}."
        )
    return math.ceil(fraction * n) if name == "test_size" else math.floor(fraction * n)


def iterative_train_test_split(
    labels: Any,
    *,
    test_size: float | int | None = 0.25,
    train_size: float | int | None = None,
    order: int = 1,
    shuffle: bool = True,
    random_state: RandomState = None,
    groups: Any = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Split indices into train and test so that each label keeps its share in both.

    Iterative stratification (Sechidis et al. 2011; label pairs with ``order=2``, Szymański &
    Kajdanowicz 2017) with two folds of the requested sizes (a third, discarded fold when
    ``train_size + test_size`` leaves samples over, as in scikit-learn's ``train_test_split``).

    Guarantees:

    - ``train`` and ``test`` are disjoint, sorted int64 index arrays; without ``train_size`` they
      cover all samples;
    - each label is shared between train and test as the sizes say, up to the greedy rounding
      of the algorithm (at most one example off per class for multiclass labels); the part
      sizes follow from the labels' shares and the rows with no label, so on tiny data with
      many one-example classes a part can come out smaller than requested;
    - same ``random_state`` (an int) and labels, same split; ``shuffle=False`` is deterministic;
    - with ``groups``, all rows of a group go to the same part (as in
      :class:`IterativeStratifiedGroupKFold`); the part sizes are then met as closely as whole
      groups allow, and a group larger than the smaller part's share raises a ``UserWarning``.

    Args:
        labels: 1-D class ids, a 2-D 0/1 matrix, a ``scipy.sparse`` matrix (kept sparse) or a
            Dataset.
        test_size: fraction of the samples in (0, 1) (rounded up) or a count; None means the
            complement of ``train_size``.
        train_size: fraction (rounded down) or count; None means the complement of ``test_size``.
        order: 1 to balance labels, 2 to balance label pairs.
        shuffle: random tie-breaks and row order; False for the deterministic variant.
        random_state: seed (int), numpy ``RandomState`` or ``Generator``, or None for fresh
            entropy; only with ``shuffle=True``.
        groups: one group id per sample (patients, subjects) whose rows must stay together,
            or None.

    Returns:
        ``(train, test)`` index arrays.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: bad labels, sizes outside their range or adding up to more than the data,
            ``order`` not 1 or 2, ``random_state`` with ``shuffle=False``, or ``groups`` of
            another length or with fewer groups than parts.

    Example:
        >>> import numpy as np
        >>> y = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 1], [1, 1], [0, 0], [1, 0]])
        >>> train, test = iterative_train_test_split(y, test_size=0.25, random_state=0)
        >>> len(train), len(test)
        (6, 2)

    References:
        Sechidis, Tsoumakas & Vlahavas, ECML PKDD 2011. Szymański & Kajdanowicz, LIDTA 2017.
    """
    checked = check_labels(labels, "labels")
    order = _check_order(order)
    shuffle = check_bool(shuffle, "shuffle")
    _check_random_state(random_state, shuffle)
    n = checked.n_samples
    if n < 2:
        raise ValueError(
            f"`labels` should have at least 2 samples to split into train and test, but got {n}."
        )
    n_test = _size(test_size, "test_size", n)
    n_train = _size(train_size, "train_size", n)
    if n_test is None and n_train is None:
        n_test = math.ceil(0.25 * n)
    if n_train is None:
        assert n_test is not None
        n_train = n - n_test
    elif n_test is None:
        n_test = n - n_train
    if n_train + n_test > n:
        raise ValueError(
            f"`train_size` + `test_size` should be at most the number of samples ({n}), but got "
            f"{n_train} + {n_test} samples. Lower one of them or leave train_size=None."
        )
    if n_train < 1 or n_test < 1:
        raise ValueError(
            f"Both train and test should get at least one sample, but got {n_train} train and "
            f"{n_test} test samples out of {n}. Adjust test_size or train_size."
        )
    rest = n - n_train - n_test
    weights = np.array([n_train, n_test] + ([rest] if rest else []), dtype=np.int64)
    rng = _rng(random_state, shuffle)
    if groups is None:
        folds = _assign(checked, weights, order, rng)
    else:
        group_ids, n_groups = check_groups(groups, n)
        folds = assign_groups(checked, group_ids, n_groups, weights, order, rng, name="test_size")
    return np.flatnonzero(folds == 0).astype(np.int64), np.flatnonzero(folds == 1).astype(np.int64)
