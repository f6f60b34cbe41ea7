"""Groups of rows that must stay together in a split (patients, subjects, sessions).

The checks for a ``groups`` argument and the assignment of whole groups to folds by iterative
stratification over super-rows (:func:`._iterative.iterative_group_folds`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from .._labels import Labels
from .._validation import describe_value
from ._iterative import group_index, item_index, iterative_group_folds

__all__ = ["assign_groups", "check_groups"]

IntArray = npt.NDArray[np.int64]


def check_groups(groups: Any, n: int) -> tuple[IntArray, int]:
    """Number the groups of ``n`` rows by sorted group id.

    Args:
        groups: one group id per row (ints, strings, anything ``np.unique`` sorts): a list,
            numpy array, torch tensor or pandas/polars Series.
        n: number of rows the groups should cover.

    Returns:
        ``(group_ids, n_groups)``: the group number (``0..n_groups-1``) of each row.

    Raises:
        ValueError: ``groups`` is None, not 1-D, of another length, or holds NaN.
    """
    if groups is None:
        raise ValueError(
            "`groups` is required: a group splitter keeps the rows of each group together. "
            "Pass one group id per row as split(X, y, groups)."
        )
    if hasattr(groups, "detach"):
        groups = groups.detach().cpu().numpy()
    elif hasattr(groups, "to_numpy"):
        groups = groups.to_numpy()
    arr = np.asarray(groups)
    if arr.ndim != 1:
        raise ValueError(
            f"`groups` should be a 1-D array with one group id per row, but got shape {arr.shape}."
        )
    if arr.shape[0] != n:
        raise ValueError(
            f"`groups` should have one group id per row ({n} rows), but got {arr.shape[0]} "
            "group ids. Pass the groups of the same rows as y."
        )
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(
            f"`groups` should hold finite group ids, but got NaN or inf in "
            f"{describe_value(arr)}. Give every row a group."
        )
    _, ids = np.unique(arr, return_inverse=True)
    ids = ids.reshape(-1).astype(np.int64)
    return ids, int(ids.max()) + 1 if n else 0


def assign_groups(
    labels: Labels,
    group_ids: IntArray,
    n_groups: int,
    weights: IntArray,
    order: int,
    rng: np.random.Generator | None,
    *,
    name: str = "n_splits",
) -> IntArray:
    """The fold of every row when whole groups are stratified into folds of share ``weights``.

    Warns (``UserWarning``) when a single group has more rows than the smallest fold's share:
    that fold cannot then be near its size.

    Args:
        name: ``"n_splits"`` (K folds) or the size argument of a train/test split, for messages.

    Raises:
        ValueError: fewer groups than folds of positive weight.
    """
    k = int(np.count_nonzero(weights))
    if n_groups < k and name == "n_splits":
        raise ValueError(
            f"`n_splits` should be at most the number of groups ({n_groups}), but got "
            f"n_splits={k}. Lower n_splits or pass finer groups."
        )
    if n_groups < k:
        raise ValueError(
            f"`groups` should hold at least {k} groups (one per part of the split), but got "
            f"{n_groups}. Pass finer groups."
        )
    groups, mass, sizes = group_index(item_index(labels, order), group_ids, n_groups)
    n = int(sizes.sum())
    smallest = n * int(weights[weights > 0].min()) / int(weights.sum())
    largest = int(sizes.max())
    if largest > smallest:
        warnings.warn(
            f"The largest group has {largest} rows, more than the smallest part's share of "
            f"{smallest:.0f} rows ({name}): that part cannot keep its size. Split that group or "
            "use fewer parts.",
            UserWarning,
            stacklevel=3,
        )
    return iterative_group_folds(groups, mass, sizes, weights, rng)[group_ids]
