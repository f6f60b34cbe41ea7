"""Quality measures of a stratified split: LD, ED, empty (fold, label) cells, and pair versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._labels import check_labels
from .._validation import check_bool, describe_value
from ._groups import check_groups
from ._iterative import ItemIndex, item_index

__all__ = ["StratificationReport", "stratification_report"]


@dataclass(frozen=True)
class StratificationReport:
    """How well a split keeps each label's share in each fold.

    The measures are those of Sechidis et al. (2011) and, over label pairs, Szymański &
    Kajdanowicz (2017), as implemented in scikit-multilearn's ``measures`` module. Lower is
    better for all of them.

    Attributes:
        n_samples: rows in the labels.
        fold_sizes: rows in each fold.
        desired_sizes: the size each fold should have (``n_samples * proportion``).
        ed: Examples Distribution: mean over folds of ``|size - desired size|``.
        ld: Label Distribution: mean over labels present and folds of
            ``|pos_fold / neg_fold - pos_all / neg_all|`` (positive-to-negative ratios; a
            count of 0 negatives is taken as 1 so that the ratio stays finite).
        empty_cells: (fold, label) pairs with no positive, over labels with at least one (FLZ).
        avoidable_empty_cells: the same, over labels with at least ``n_folds`` positives.
        folds_missing_labels: folds without a positive for at least one present label (FZ).
        lpd: Label Pair Distribution: ``ld`` over the label pairs ``(a, b)``, ``a <= b``,
            present in the data (None when ``pairs=False``).
        empty_pair_cells: (fold, label pair) pairs with no positive (FLPZ; None when
            ``pairs=False``).
        positives: ``(n_folds, n_labels)`` positives of each label in each fold.
        groups_per_fold: with ``groups``: the number of distinct groups in each fold.
        largest_group_share: with ``groups``: the largest share of a fold's rows that one group
            holds (1.0 when a fold is a single group).
        split_groups: with ``groups``: groups whose rows are in more than one fold (0 for a
            grouped split).
    """

    n_samples: int
    fold_sizes: list[int]
    desired_sizes: list[float]
    ed: float
    ld: float
    empty_cells: int
    avoidable_empty_cells: int
    folds_missing_labels: int
    lpd: float | None
    empty_pair_cells: int | None
    positives: npt.NDArray[np.int64] = field(repr=False)
    groups_per_fold: list[int] | None = None
    largest_group_share: float | None = None
    split_groups: int | None = None

    @property
    def n_folds(self) -> int:
        return len(self.fold_sizes)

    def to_dict(self) -> dict[str, Any]:
        """The scalar measures and fold sizes as a JSON-serialisable dict."""
        return {
            "n_samples": self.n_samples,
            "n_folds": self.n_folds,
            "fold_sizes": list(self.fold_sizes),
            "desired_sizes": list(self.desired_sizes),
            "ed": self.ed,
            "ld": self.ld,
            "empty_cells": self.empty_cells,
            "avoidable_empty_cells": self.avoidable_empty_cells,
            "folds_missing_labels": self.folds_missing_labels,
            "lpd": self.lpd,
            "empty_pair_cells": self.empty_pair_cells,
            "groups_per_fold": self.groups_per_fold,
            "largest_group_share": self.largest_group_share,
            "split_groups": self.split_groups,
        }

    def __str__(self) -> str:
        rows = [
            ("folds", str(self.n_folds)),
            ("fold sizes", ", ".join(str(s) for s in self.fold_sizes)),
            ("ED (examples distribution)", f"{self.ed:.4g}"),
            ("LD (label distribution)", f"{self.ld:.4g}"),
            ("empty (fold, label) cells", str(self.empty_cells)),
            ("  of labels with >= n_folds positives", str(self.avoidable_empty_cells)),
            ("folds missing a label (FZ)", str(self.folds_missing_labels)),
        ]
        if self.lpd is not None:
            rows.append(("LPD (label pair distribution)", f"{self.lpd:.4g}"))
            rows.append(("empty (fold, label pair) cells", str(self.empty_pair_cells)))
        if self.groups_per_fold is not None:
            rows.append(("groups per fold", ", ".join(str(g) for g in self.groups_per_fold)))
            rows.append(("largest group share of a fold", f"{self.largest_group_share:.4g}"))
            rows.append(("groups split across folds", str(self.split_groups)))
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def _check_folds(folds: Any, n: int) -> list[npt.NDArray[np.int64]]:
    hint = (
        "Pass a list of index arrays, one per fold, e.g. "
        "[test for _, test in cv.split(X, y)] or [train, test]."
    )
    if isinstance(folds, np.ndarray | str | bytes) or not isinstance(folds, Sequence):
        raise TypeError(
            f"`folds` should be a list of index arrays, but got {describe_value(folds)} of type "
            f"{type(folds).__name__}. {hint}"
        )
    if len(folds) == 0:
        raise ValueError(f"`folds` should hold at least one fold, but got an empty list. {hint}")
    out = []
    for j, fold in enumerate(folds):
        arr = np.asarray(fold.detach().cpu().numpy() if hasattr(fold, "detach") else fold)
        if arr.ndim != 1:
            raise ValueError(
                f"`folds[{j}]` should be a 1-D array of sample indices, but got shape "
                f"{arr.shape}. {hint}"
            )
        if arr.size and (arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer)):
            raise TypeError(
                f"`folds[{j}]` should hold integer sample indices, but got dtype {arr.dtype}. "
                f"{hint}"
            )
        arr = arr.astype(np.int64, copy=False)
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            bad = int(arr[(arr < 0) | (arr >= n)][0])
            raise ValueError(
                f"`folds[{j}]` should hold indices in [0, {n - 1}] (the labels have {n} rows), "
                f"but got index {bad}."
            )
        out.append(arr)
    return out


def _fold_positives(index: ItemIndex, fold: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.bincount(index.items_of(fold), minlength=index.n_items).astype(np.int64)


def _distribution(
    positives: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    totals: npt.NDArray[np.int64],
    n: int,
) -> float:
    """Mean over items and folds of |pos/neg in fold - pos/neg overall| (LD of Sechidis 2011)."""
    if totals.shape[0] == 0:
        return 0.0
    overall = totals / np.maximum(n - totals, 1)
    per_fold = positives / np.maximum(sizes[:, None] - positives, 1)
    return float(np.abs(per_fold - overall[None, :]).mean())


def stratification_report(
    labels: Any,
    folds: Sequence[Any],
    *,
    proportions: Sequence[float] | None = None,
    pairs: bool = True,
    groups: Any = None,
) -> StratificationReport:
    """Measure how well ``folds`` keep each label's (and label pair's) share.

    Computes the Label Distribution (LD) and Examples Distribution (ED) of Sechidis et al. (2011),
    the number of (fold, label) cells without a positive, and the same over label pairs (LPD and
    FLPZ of Szymański & Kajdanowicz 2017). Definitions follow scikit-multilearn's ``measures``
    module, vectorized (pairs come from sparse co-occurrence, never from Python sets).

    Args:
        labels: the labels the folds index into (any accepted form; multiclass labels are
            treated as one label per class).
        folds: a list of 1-D index arrays, one per fold: the test folds of a K-fold split, or
            ``[train, test]``.
        proportions: the share each fold should have, for ED (normalised to sum to 1); default
            equal shares.
        pairs: also compute the label-pair measures (the cost grows with the label pairs present).
        groups: one group id per row, to add the group figures (groups per fold, largest
            group share of a fold, groups split across folds); None to leave them out.

    Returns:
        A :class:`StratificationReport`.

    Raises:
        TypeError: ``folds`` is not a list of integer index arrays.
        ValueError: bad labels, an index out of range, ``proportions`` of the wrong length or
            not positive, or ``groups`` of another length than the labels.

    Example:
        >>> import numpy as np
        >>> y = np.array([[1, 0], [1, 1], [0, 1], [1, 0]])
        >>> report = stratification_report(y, [[0, 2], [1, 3]])
        >>> report.fold_sizes, report.empty_cells, report.ld
        ([2, 2], 0, 0.75)

    References:
        Sechidis, Tsoumakas & Vlahavas, ECML PKDD 2011. Szymański & Kajdanowicz, LIDTA 2017.
    """
    checked = check_labels(labels, "labels")
    pairs = check_bool(pairs, "pairs")
    n = checked.n_samples
    fold_list = _check_folds(folds, n)
    k = len(fold_list)
    if proportions is None:
        shares = np.full(k, 1.0 / k)
    else:
        shares = np.asarray(proportions, dtype=np.float64)
        if shares.shape != (k,) or not np.all(np.isfinite(shares)) or not np.all(shares > 0):
            raise ValueError(
                f"`proportions` should hold one positive share per fold ({k}), but got "
                f"proportions={describe_value(proportions)}."
            )
        shares = shares / shares.sum()
    sizes = np.array([f.shape[0] for f in fold_list], dtype=np.int64)
    desired = shares * n
    ed = float(np.abs(sizes - desired).mean())

    index1 = item_index(checked, 1)
    present = index1.counts > 0
    pos = np.stack([_fold_positives(index1, f) for f in fold_list])
    pos_present = pos[:, present]
    ld = _distribution(pos_present, sizes, index1.counts[present], n)
    empty = pos_present == 0
    avoidable = index1.counts[present] >= k
    lpd: float | None = None
    empty_pairs: int | None = None
    if pairs:
        index2 = item_index(checked, 2)
        pos2 = np.stack([_fold_positives(index2, f) for f in fold_list])
        lpd = _distribution(pos2, sizes, index2.counts, n)
        empty_pairs = int((pos2 == 0).sum())
    group_figures: dict[str, Any] = {}
    if groups is not None:
        group_figures = _group_figures(check_groups(groups, n)[0], fold_list)
    return StratificationReport(
        n_samples=n,
        fold_sizes=sizes.tolist(),
        desired_sizes=desired.tolist(),
        ed=ed,
        ld=ld,
        empty_cells=int(empty.sum()),
        avoidable_empty_cells=int(empty[:, avoidable].sum()),
        folds_missing_labels=int(empty.any(axis=1).sum()),
        lpd=lpd,
        empty_pair_cells=empty_pairs,
        positives=pos,
        **group_figures,
    )


def _group_figures(
    group_ids: npt.NDArray[np.int64], folds: list[npt.NDArray[np.int64]]
) -> dict[str, Any]:
    """Groups per fold, the largest share of a fold held by one group, groups split."""
    per_fold = []
    largest = 0.0
    present_lists = []
    for fold in folds:
        present, rows = np.unique(group_ids[fold], return_counts=True)
        present_lists.append(present)
        per_fold.append(int(present.shape[0]))
        if fold.shape[0]:
            largest = max(largest, float(rows.max()) / fold.shape[0])
    folds_per_group = np.bincount(np.concatenate(present_lists), minlength=1)
    split = int((folds_per_group > 1).sum())
    return {
        "groups_per_fold": per_fold,
        "largest_group_share": largest,
        "split_groups": split,
    }
