"""Stratified splits of a Hugging Face ``datasets.Dataset`` that return ``DatasetDict`` objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._labels import get_labels
from .._optional import import_optional
from ..model_selection import IterativeStratifiedKFold, iterative_train_test_split
from ..model_selection._splitters import RandomState

__all__ = ["stratified_kfold", "stratified_train_test_split"]


def _check_dataset(dataset: Any) -> Any:
    datasets = import_optional("datasets", extra="hf")
    if not isinstance(dataset, datasets.Dataset):
        raise TypeError(
            f"`dataset` should be a datasets.Dataset, but got {type(dataset).__name__}; for a "
            "DatasetDict pass one split, e.g. dataset['train']."
        )
    return datasets


def stratified_train_test_split(
    dataset: Any,
    *,
    column: str | list[str] | None = None,
    test_size: float | int | None = 0.25,
    train_size: float | int | None = None,
    order: int = 1,
    shuffle: bool = True,
    random_state: RandomState = None,
) -> Any:
    """Split a Hugging Face ``Dataset`` into ``train`` and ``test`` keeping every label's share.

    The labels of ``column`` are read through Arrow (:func:`balancers.get_labels`; a
    ``ClassLabel`` column is multiclass, a list or ``List(ClassLabel)`` column multilabel), split
    with :func:`~balancers.model_selection.iterative_train_test_split`, and the rows taken with
    ``dataset.select``. Unlike ``Dataset.train_test_split(stratify_by_column=...)``, which takes
    one class column, this balances each label of a multilabel column.

    Guarantees: no row is in both parts; without ``train_size`` every row is in one of them; rows
    keep their order; the same ``random_state`` (an int) gives the same split.

    Args:
        dataset: a ``datasets.Dataset``.
        column: the label column (default: the column named ``label`` or ``labels``); a list of
            names reads 0/1 columns as one multilabel matrix.
        test_size: fraction of the rows in (0, 1) or a count, as in
            :func:`~balancers.model_selection.iterative_train_test_split`.
        train_size: fraction or count; None means the complement of ``test_size``.
        order: 1 to balance labels, 2 to balance label pairs.
        shuffle: random tie-breaks and row order; False for the deterministic variant.
        random_state: seed (int), numpy ``RandomState`` or ``Generator``, or None for fresh
            entropy; only with ``shuffle=True``.

    Returns:
        ``DatasetDict({"train": ..., "test": ...})``.

    Raises:
        TypeError: ``dataset`` is not a ``datasets.Dataset``, or an argument has the wrong type.
        ValueError: bad labels (nulls, unknown column) or sizes.

    Example:
        >>> from datasets import ClassLabel, Dataset, Features, List
        >>> ds = Dataset.from_dict(
        ...     {"tags": [[0], [1], [0, 1], [0]] * 5},
        ...     features=Features({"tags": List(ClassLabel(names=["cat", "dog"]))}),
        ... )
        >>> parts = stratified_train_test_split(ds, column="tags", test_size=0.25, random_state=0)
        >>> parts.num_rows
        {'train': 14, 'test': 6}
    """
    datasets = _check_dataset(dataset)
    labels = get_labels(dataset, column=column)
    train, test = iterative_train_test_split(
        labels,
        test_size=test_size,
        train_size=train_size,
        order=order,
        shuffle=shuffle,
        random_state=random_state,
    )
    return datasets.DatasetDict({"train": dataset.select(train), "test": dataset.select(test)})


def stratified_kfold(
    dataset: Any,
    *,
    column: str | list[str] | None = None,
    n_splits: int = 5,
    order: int = 1,
    shuffle: bool = False,
    random_state: RandomState = None,
) -> Iterator[Any]:
    """The folds of :class:`~balancers.model_selection.IterativeStratifiedKFold` as datasets.

    Yields one ``DatasetDict({"train": ..., "test": ...})`` per fold; the test parts are
    disjoint and cover every row. Arguments as in :func:`stratified_train_test_split` and
    ``IterativeStratifiedKFold``; arguments are checked before the first fold is yielded.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"label": [0, 0, 1, 1, 0, 1]})
        >>> [list(fold["test"]["label"]) for fold in stratified_kfold(ds, n_splits=2)]
        [[0, 1, 0], [0, 1, 1]]
    """
    datasets = _check_dataset(dataset)
    labels = get_labels(dataset, column=column)
    cv = IterativeStratifiedKFold(
        n_splits=n_splits, order=order, shuffle=shuffle, random_state=random_state
    )
    folds = list(cv.split(None, labels))
    return (
        datasets.DatasetDict({"train": dataset.select(train), "test": dataset.select(test)})
        for train, test in folds
    )
