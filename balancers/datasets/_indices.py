"""Which samples to keep: long-tailed and balanced subsets of multiclass labels (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .._labels import Labels, check_labels
from .._rng import make_rng
from .._validation import (
    check_choice,
    check_int,
    check_seed,
    describe_value,
    tensor_to_numpy,
)

__all__ = ["SELECTIONS", "Selection", "balanced_indices", "long_tail_indices"]

Selection = Literal["random", "first", "ldam"]
SELECTIONS: tuple[str, ...] = ("random", "first", "ldam")

# Keys that separate the random streams of the two functions for the same seed.
_KEY_LONG_TAIL = 1
_KEY_BALANCED = 2


def check_multiclass(labels: Any, name: str) -> Labels:
    """``check_labels`` restricted to multiclass labels."""
    info = check_labels(labels, name)
    if info.is_multilabel:
        raise ValueError(
            f"`{name}` should be multiclass (one class id per sample), but got multilabel labels "
            f"with {info.n_classes} label columns. Long-tailed splits subsample classes; for "
            "multilabel data use balancers.ml_rus or iterative_train_test_split."
        )
    return info


def _check_counts(
    counts: Any, info: Labels, available: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Validate per-class target counts against what each class has."""
    counts = tensor_to_numpy(counts, "counts")
    if isinstance(counts, (str, bytes, dict)) or not isinstance(counts, Sequence | np.ndarray):
        raise TypeError(
            "`counts` should be a sequence of non-negative integers, one per class in sorted "
            f"class order, but got counts={describe_value(counts)} of type {type(counts).__name__}."
        )
    arr = np.asarray(counts)
    if arr.ndim != 1 or arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if arr.ndim == 1 and arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(
                "`counts` should be a 1-D sequence of integers (one per class), but got "
                f"counts={describe_value(counts)}."
            )
    if arr.shape[0] != info.n_classes:
        raise ValueError(
            f"`counts` should have one entry per class ({info.n_classes} classes: "
            f"{_show_classes(info)}), but got {arr.shape[0]} counts. Use "
            f"long_tail_counts(n_max, {info.n_classes}, imbalance_ratio) to build them."
        )
    arr = arr.astype(np.int64)
    negative = np.flatnonzero(arr < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(
            f"`counts` should be non-negative, but got counts[{i}]={int(arr[i])} "
            f"for class {info.classes[i].item()!r}."
        )
    over = np.flatnonzero(arr > available)
    if over.size:
        i = int(over[0])
        raise ValueError(
            f"`counts` asks for more samples than a class has: counts[{i}]={int(arr[i])} for "
            f"class {info.classes[i].item()!r}, which has {int(available[i])} samples "
            f"({over.size} classes short). Lower n_max or the counts."
        )
    return arr


def _show_classes(info: Labels) -> str:
    shown = info.classes.tolist()
    return repr(shown) if len(shown) <= 12 else repr(shown[:12])[:-1] + ", ...]"


def _first_per_class(
    codes: npt.NDArray[np.int64], order: npt.NDArray[np.int64], counts: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Keep, from ``order`` (a sequence of sample indices), the first ``counts[c]`` of each class.

    Returns the kept sample indices in ascending order.
    """
    grouped = order[np.argsort(codes[order], kind="stable")]
    group_codes = codes[grouped]
    sizes = np.bincount(group_codes, minlength=counts.shape[0])
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(grouped.shape[0], dtype=np.int64) - starts[group_codes]
    return np.sort(grouped[rank < counts[group_codes]]).astype(np.int64)


def long_tail_indices(
    labels: Any,
    counts: Sequence[int] | npt.NDArray[np.integer[Any]],
    *,
    seed: int | None = 0,
    selection: Selection = "random",
) -> npt.NDArray[np.int64]:
    """Indices of the samples to keep so that class ``c`` keeps ``counts[c]`` samples.

    Selections:

    * ``"random"``: a uniformly random subset of each class, drawn from this library's
      generator (PCG64 keyed by ``seed``); returned in ascending order;
    * ``"first"``: the first ``counts[c]`` samples of each class in dataset order; ascending;
    * ``"ldam"``: bit-exact with ``IMBALANCECIFAR10`` / ``IMBALANCECIFAR100`` of Cao et al.
      (kaidic/LDAM-DRW): a private ``np.random.RandomState(seed)``, classes in ascending order,
      each class's positions shuffled in place with that shared stream and the first
      ``counts[c]`` kept; returned class by class in that shuffled order, which is the order of
      LDAM-DRW's ``data``. The global numpy RNG is not touched.

    Guarantees:

    * exactly ``counts[c]`` indices of class ``c``, no index twice, all within ``range(n)``;
    * a pure function of ``(labels, counts, seed, selection)``.

    Args:
        labels: multiclass labels in any accepted form, or a Dataset.
        counts: one non-negative count per class, in sorted class order (see
            :func:`long_tail_counts`).
        seed: the random seed (``"first"`` ignores it). ``"ldam"`` needs ``0 <= seed < 2**32``
            or None.
        selection: ``"random"``, ``"first"`` or ``"ldam"``.

    Returns:
        An ``int64`` array of dataset indices.

    Raises:
        TypeError: wrong argument types.
        ValueError: multilabel labels, a wrong number of counts, a count above what its class
            has, an unknown ``selection``.

    References:
        Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
        NeurIPS 2019.

    Example:
        >>> long_tail_indices([0, 1, 0, 1, 0, 1], [3, 1], selection="first").tolist()
        [0, 1, 2, 4]
    """
    info = check_multiclass(labels, "labels")
    selection = check_choice(selection, "selection", SELECTIONS)  # type: ignore[assignment]
    seed = check_seed(seed)
    wanted = _check_counts(counts, info, info.counts)
    assert info.codes is not None
    if selection == "ldam":
        if seed is not None and seed >= 2**32:
            raise ValueError(
                f"`seed` should be below 2**32 for selection='ldam' (numpy's RandomState), but "
                f"got seed={seed}."
            )
        state = np.random.RandomState(seed)
        indptr, rows = info.class_members
        parts = []
        for c in range(info.n_classes):
            positions = rows[indptr[c] : indptr[c + 1]].copy()
            state.shuffle(positions)
            parts.append(positions[: wanted[c]])
        return np.concatenate(parts).astype(np.int64)
    if selection == "first":
        order = np.arange(info.n_samples, dtype=np.int64)
    else:
        order = make_rng(seed, _KEY_LONG_TAIL).permutation(info.n_samples).astype(np.int64)
    return _first_per_class(info.codes, order, wanted)


def _exclusion_mask(exclude: Any, n: int) -> npt.NDArray[np.bool_]:
    """A boolean mask of excluded samples from indices or a boolean mask."""
    if exclude is None:
        return np.zeros(n, dtype=bool)
    if isinstance(exclude, (str, bytes, dict)):
        raise TypeError(
            "`exclude` should be an array of sample indices or a boolean mask, but got "
            f"exclude={describe_value(exclude)}."
        )
    exclude = tensor_to_numpy(exclude, "exclude")
    arr = np.asarray(exclude)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise ValueError(
                f"`exclude` as a boolean mask should have shape ({n},), but got shape {arr.shape}."
            )
        return np.array(arr, dtype=np.bool_)
    if arr.size == 0:
        return np.zeros(n, dtype=bool)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            "`exclude` should be a 1-D array of integer sample indices or a boolean mask, but "
            f"got exclude={describe_value(exclude)}."
        )
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`exclude` should hold indices in [0, {n}), but got exclude[{i}]={int(arr[i])}."
        )
    mask = np.zeros(n, dtype=bool)
    mask[arr] = True
    return mask


def balanced_indices(
    labels: Any,
    per_class: int | Literal["min"],
    *,
    exclude: Any = None,
    seed: int | None = 0,
) -> npt.NDArray[np.int64]:
    """Indices of a balanced random subset: ``per_class`` samples of every class.

    Guarantees:

    * exactly ``per_class`` indices of each class, none twice, none in ``exclude``;
    * returned in ascending order; a pure function of the arguments.

    Args:
        labels: multiclass labels in any accepted form, or a Dataset.
        per_class: samples per class, or ``"min"`` for the smallest class count (after
            ``exclude``).
        exclude: sample indices (or a boolean mask) that may not be chosen, e.g. the samples
            already in a training set.
        seed: the random seed.

    Returns:
        An ``int64`` array of dataset indices.

    Raises:
        TypeError: wrong argument types.
        ValueError: ``per_class`` above the smallest class count (after ``exclude``), bad
            ``exclude`` indices, multilabel labels.

    Example:
        >>> idx = balanced_indices([0, 0, 0, 1, 1, 2, 2, 2], "min", seed=0)
        >>> np.bincount(np.asarray([0, 0, 0, 1, 1, 2, 2, 2])[idx]).tolist()
        [2, 2, 2]
    """
    info = check_multiclass(labels, "labels")
    seed = check_seed(seed)
    excluded = _exclusion_mask(exclude, info.n_samples)
    assert info.codes is not None
    available = np.bincount(info.codes[~excluded], minlength=info.n_classes).astype(np.int64)
    smallest = int(np.argmin(available))
    if isinstance(per_class, str):
        if per_class != "min":
            raise ValueError(
                f"`per_class` should be a non-negative integer or 'min', but got "
                f"per_class={per_class!r}."
            )
        n = int(available[smallest])
    else:
        n_checked = check_int(per_class, "per_class", minimum=0, hint="Or pass 'min'.")
        assert n_checked is not None
        n = n_checked
        if n > available[smallest]:
            left = " left after `exclude`" if excluded.any() else ""
            raise ValueError(
                f"`per_class` should be at most the smallest class count "
                f"({int(available[smallest])}, class {info.classes[smallest].item()!r}{left}), "
                f"but got per_class={n}. Lower per_class or pass 'min'."
            )
    wanted = np.full(info.n_classes, n, dtype=np.int64)
    order = make_rng(seed, _KEY_BALANCED).permutation(info.n_samples).astype(np.int64)
    order = order[~excluded[order]]
    return _first_per_class(info.codes, order, wanted)
