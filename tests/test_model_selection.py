"""Iterative stratification: exactness against the one-example-at-a-time algorithm, partitions,
determinism, scikit-learn integration, quality against scikit-multilearn and iterstrat, errors."""

from __future__ import annotations

import gzip
import itertools
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from torch.utils.data import TensorDataset

from balancers import (
    IterativeStratifiedKFold,
    iterative_train_test_split,
    stratification_report,
)
from balancers._labels import check_labels
from balancers.model_selection._iterative import (
    _dense_ids,
    batch_picks,
    item_index,
    iterative_folds,
)

# ----------------------------------------------------------------------------- reference


def _row_items(y: np.ndarray, order: int) -> list[list[tuple[int, ...]]]:
    """The items of each row: its labels (order 1) or label pairs with repeats (order 2)."""
    row_items: list[list[tuple[int, ...]]] = []
    for r in range(y.shape[0]):
        labels = [int(a) for a in np.flatnonzero(y[r])]
        if order == 1:
            row_items.append([(a,) for a in labels])
        else:
            row_items.append(list(itertools.combinations_with_replacement(labels, 2)))
    return row_items


def _place(
    r: int,
    j: int,
    fold: np.ndarray,
    total: np.ndarray,
    desire: dict[Any, np.ndarray],
    remaining: dict[Any, int],
    items: Any,
    step: int,
) -> None:
    """Put row ``r`` (holding ``items``) in fold ``j`` and update the references' counters."""
    fold[r] = j
    total[j] -= step
    for c in items:
        desire[c] = desire[c].copy()
        desire[c][j] -= step
        remaining[c] -= 1


def reference_folds(y: np.ndarray, weights: list[int], order: int = 1) -> np.ndarray:
    """Sechidis et al. (2011) / Szymański & Kajdanowicz (2017), one example at a time.

    Deterministic ties: the rarest label (pair) with the lowest number; rows in index order; the
    fold with the largest label desire, then the largest example desire, then the lowest number.
    Desires are scaled by sum(weights) to stay exact integers.
    """
    n = y.shape[0]
    w = np.asarray(weights, dtype=np.int64)
    step = int(w.sum())
    row_items = _row_items(y, order)
    items = sorted({c for its in row_items for c in its})
    remaining = {c: sum(c in its for its in row_items) for c in items}
    desire = {c: remaining[c] * w for c in items}
    total = n * w
    fold = np.full(n, -1)
    while any(remaining[c] > 0 for c in items):
        c = min((c for c in items if remaining[c] > 0), key=lambda c: (remaining[c], c))
        for r in range(n):
            if fold[r] >= 0 or c not in row_items[r]:
                continue
            best = np.flatnonzero(desire[c] == desire[c].max())
            best = best[total[best] == total[best].max()]
            _place(r, int(best[0]), fold, total, desire, remaining, row_items[r], step)
    for r in range(n):
        if fold[r] < 0:
            j = int(np.flatnonzero(total == total.max())[0])
            fold[r] = j
            total[j] -= step
    return fold


def reference_shuffled_folds(
    y: np.ndarray, weights: list[int], order: int, seed: int
) -> np.ndarray:
    """The same one-example-at-a-time algorithm with random ties, drawing from the generator in
    the order that ``iterative_folds`` documents: item priorities, then per label (pair) a fold
    ranking and a shuffle of its picks grouped by fold; the same two for the rows with no label.
    """
    rng = np.random.default_rng(seed)
    n, n_labels = y.shape
    w = np.asarray(weights, dtype=np.int64)
    k, step = w.shape[0], int(w.sum())
    row_items = _row_items(y, order)
    if order == 1:
        items = [(a,) for a in range(n_labels)]  # every column is an item, even an empty one
    else:
        items = sorted({c for its in row_items for c in its})
    prio = dict(zip(items, rng.permutation(len(items)).tolist(), strict=True))
    remaining = {c: sum(c in its for its in row_items) for c in items}
    desire = {c: remaining[c] * w for c in items}
    total = n * w
    fold = np.full(n, -1)

    def picks_of(d: np.ndarray, t: np.ndarray, rank: np.ndarray, m: int) -> np.ndarray:
        d, t, picks = d.copy(), t.copy(), []
        for _ in range(m):
            j = max(range(k), key=lambda j: (d[j], t[j], -rank[j]))
            picks.append(j)
            d[j] -= step
            t[j] -= step
        return np.sort(np.asarray(picks, dtype=np.int64))

    while any(remaining[c] > 0 for c in items):
        c = min((c for c in items if remaining[c] > 0), key=lambda c: (remaining[c], prio[c]))
        rank = rng.permutation(k)
        rows = [r for r in range(n) if fold[r] < 0 and c in row_items[r]]
        picks = picks_of(desire[c], total, rank, len(rows))
        if len(rows) > 1:
            picks = rng.permutation(picks)
        for r, j in zip(rows, picks.tolist(), strict=True):
            _place(r, j, fold, total, desire, remaining, row_items[r], step)
    empty = np.flatnonzero(fold < 0)
    if empty.shape[0]:
        rank = rng.permutation(k)
        fold[empty] = rng.permutation(picks_of(total, total, rank, int(empty.shape[0])))
    return fold


def ours_folds(y: Any, weights: list[int], order: int = 1) -> np.ndarray:
    return iterative_folds(
        item_index(check_labels(y), order), np.asarray(weights, dtype=np.int64), None
    )


@st.composite
def label_matrices(draw: st.DrawFn, max_rows: int = 30, max_labels: int = 6) -> np.ndarray:
    n = draw(st.integers(1, max_rows))
    n_labels = draw(st.integers(1, max_labels))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.0, 0.7, size=n_labels)
    y = (rng.random((n, n_labels)) < rates).astype(np.int8)
    if draw(st.booleans()):
        y[rng.random(n) < 0.3] = 0  # extra rows with no label
    return y


# ----------------------------------------------------------------------------- exactness


@settings(max_examples=60, deadline=None)
@given(
    y=label_matrices(),
    weights=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    order=st.sampled_from([1, 2]),
)
def test_batches_equal_the_one_example_at_a_time_algorithm(
    y: np.ndarray, weights: list[int], order: int
) -> None:
    np.testing.assert_array_equal(ours_folds(y, weights, order), reference_folds(y, weights, order))


@settings(max_examples=60, deadline=None)
@given(
    y=label_matrices(),
    weights=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    order=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**32 - 1),
)
def test_shuffled_batches_equal_the_one_example_at_a_time_algorithm(
    y: np.ndarray, weights: list[int], order: int, seed: int
) -> None:
    index = item_index(check_labels(y), order)
    got = iterative_folds(index, np.asarray(weights, dtype=np.int64), np.random.default_rng(seed))
    np.testing.assert_array_equal(got, reference_shuffled_folds(y, weights, order, seed))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("weights", [[1, 1, 1, 1, 1], [3, 1], [2, 1, 1]])
def test_large_batches_equal_the_one_example_at_a_time_algorithm(
    order: int, weights: list[int]
) -> None:
    # Labels with hundreds of rows: batches past the plain-Python size (48 examples), items past
    # 64 rows that are partly placed, and many small label pairs, with and without random ties.
    rng = np.random.default_rng(11)
    rates = np.array([0.7, 0.45, 0.3, 0.12, 0.05, 0.02])
    y = (rng.random((400, rates.shape[0])) < rates).astype(np.int8)
    y[rng.random(400) < 0.05] = 0
    np.testing.assert_array_equal(ours_folds(y, weights, order), reference_folds(y, weights, order))
    index = item_index(check_labels(y), order)
    for seed in (0, 1):
        got = iterative_folds(
            index, np.asarray(weights, dtype=np.int64), np.random.default_rng(seed)
        )
        np.testing.assert_array_equal(got, reference_shuffled_folds(y, weights, order, seed))


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.integers(0, 60), min_size=1, max_size=50), wide=st.booleans())
def test_pair_numbering_matches_np_unique(keys: list[int], wide: bool) -> None:
    codes = np.asarray(keys, dtype=np.int64)
    n_keys = 61 + (1 << 21) if wide else 61  # a wide key space takes the np.unique branch
    uniq, inverse = _dense_ids(codes, n_keys)
    expected_uniq, expected_inverse = np.unique(codes, return_inverse=True)
    np.testing.assert_array_equal(uniq, expected_uniq)
    np.testing.assert_array_equal(inverse, expected_inverse.reshape(-1))
    assert uniq.dtype == np.int64
    assert inverse.dtype == np.int64


def test_sparse_and_dense_give_the_same_folds() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random((300, 12)) < rng.uniform(0.01, 0.4, 12)).astype(np.int8)
    for order in (1, 2):
        dense = IterativeStratifiedKFold(4, order=order).test_folds(None, y)
        sparse = IterativeStratifiedKFold(4, order=order).test_folds(None, sp.csr_matrix(y))
        np.testing.assert_array_equal(dense, sparse)
        np.testing.assert_array_equal(dense, reference_folds(y, [1] * 4, order))


def naive_picks(
    desire: np.ndarray, total: np.ndarray, step: int, m: int, rank: np.ndarray
) -> list[int]:
    d, t, out = desire.copy(), total.copy(), []
    for _ in range(m):
        j = max(range(d.shape[0]), key=lambda j: (d[j], t[j], -rank[j]))
        out.append(j)
        d[j] -= step
        t[j] -= step
    return out


@settings(max_examples=80, deadline=None)
@given(
    desire=st.lists(st.integers(-50, 50), min_size=1, max_size=6),
    spread=st.integers(0, 20),
    step=st.integers(1, 7),
    m=st.integers(1, 60),
    seed=st.integers(0, 1000),
)
def test_batch_picks_is_the_greedy_sequence(
    desire: list[int], spread: int, step: int, m: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    d = np.asarray(desire, dtype=np.int64) * step
    t = d + rng.integers(0, spread + 1, size=d.shape[0]) * step
    rank = rng.permutation(d.shape[0]).astype(np.int64)
    assert batch_picks(d, t, step, m, rank).tolist() == naive_picks(d, t, step, m, rank)
    grouped = batch_picks(d, t, step, m, rank, ordered=False)
    assert sorted(grouped.tolist()) == sorted(naive_picks(d, t, step, m, rank))


def test_hand_computed_folds() -> None:
    # Labels tie at 4 positives: label 0 first; its rows 0, 1, 3, 5 alternate between the folds;
    # label 1 then wants both remaining rows (2, 4) in fold 0, which has none of its positives.
    y = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 1], [1, 1]])
    folds = [test.tolist() for _, test in IterativeStratifiedKFold(2).split(None, y)]
    assert folds == [[0, 2, 3, 4], [1, 5]]
    # Multiclass: "c" (row 5) first, to fold 0; "b" (rows 1, 3) ties on label desire, so row 1
    # goes to the emptier fold 1, row 3 to fold 0; "a" (rows 0, 2, 4, 6) alternates from fold 1.
    classes = ["a", "b", "a", "b", "a", "c", "a"]
    assert IterativeStratifiedKFold(2).test_folds(None, classes).tolist() == [1, 1, 0, 0, 1, 0, 0]


def test_order_two_balances_the_rare_pair() -> None:
    # Label pair (0, 1) occurs twice; order 1 puts both in fold 0, order 2 splits them.
    y = np.array([[1, 1], [1, 1], [1, 0], [1, 0], [0, 1], [0, 1]])
    first = IterativeStratifiedKFold(2, order=1).test_folds(None, y)
    second = IterativeStratifiedKFold(2, order=2).test_folds(None, y)
    assert first.tolist() == reference_folds(y, [1, 1], 1).tolist()
    assert len(set(second[:2].tolist())) == 2


# ----------------------------------------------------------------------------- partitions


def check_partition(splits: Iterator[tuple[np.ndarray, np.ndarray]], n: int, k: int) -> None:
    seen = np.zeros(n, dtype=np.int64)
    count = 0
    for train, test in splits:
        count += 1
        assert train.dtype == np.int64
        assert test.dtype == np.int64
        assert np.all(np.diff(train) > 0)
        assert np.all(np.diff(test) > 0)
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
        seen[test] += 1
    assert count == k
    assert np.all(seen == 1)


@settings(max_examples=40, deadline=None)
@given(
    y=label_matrices(max_rows=60, max_labels=8),
    k=st.integers(2, 6),
    order=st.sampled_from([1, 2]),
    shuffle=st.booleans(),
    sparse=st.booleans(),
)
def test_folds_partition_the_indices(
    y: np.ndarray, k: int, order: int, shuffle: bool, sparse: bool
) -> None:
    if y.shape[0] < k:
        k = max(2, y.shape[0]) if y.shape[0] >= 2 else 2
        if y.shape[0] < 2:
            y = np.vstack([y, y])
    labels: Any = sp.csr_array(y) if sparse else y
    cv = IterativeStratifiedKFold(
        k, order=order, shuffle=shuffle, random_state=0 if shuffle else None
    )
    check_partition(cv.split(np.zeros((y.shape[0], 3)), labels), y.shape[0], k)


@settings(max_examples=40, deadline=None)
@given(
    codes=st.lists(st.integers(0, 6), min_size=6, max_size=80),
    k=st.integers(2, 6),
    shuffle=st.booleans(),
)
def test_multiclass_fold_sizes_and_class_counts_differ_by_at_most_one(
    codes: list[int], k: int, shuffle: bool
) -> None:
    k = min(k, len(codes))
    cv = IterativeStratifiedKFold(k, shuffle=shuffle, random_state=1 if shuffle else None)
    folds = cv.test_folds(None, codes)
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    y = np.asarray(codes)
    for c in np.unique(y):
        per_fold = np.bincount(folds[y == c], minlength=k)
        assert per_fold.max() - per_fold.min() <= 1


def test_rare_labels_and_empty_rows_are_handled() -> None:
    rng = np.random.default_rng(0)
    y = np.zeros((50, 5), dtype=np.int8)
    y[:3, 0] = 1  # fewer positives than folds
    y[10:30, 1] = 1
    y[rng.random(50) < 0.3, 2] = 1  # rows 30..49 partly empty
    folds = IterativeStratifiedKFold(5).test_folds(None, y)
    assert len(set(folds[:3].tolist())) == 3  # three positives, three folds
    counts = np.stack([np.bincount(folds[y[:, j] == 1], minlength=5) for j in (1, 2)])
    assert (counts.max(axis=1) - counts.min(axis=1)).max() <= 1
    assert np.bincount(folds, minlength=5).tolist() == [10] * 5


# ----------------------------------------------------------------------------- determinism


def test_determinism_and_seeds() -> None:
    rng = np.random.default_rng(1)
    y = sp.csr_array((rng.random((400, 20)) < 0.1).astype(np.int8))
    fixed = IterativeStratifiedKFold(5)
    np.testing.assert_array_equal(fixed.test_folds(None, y), fixed.test_folds(None, y))
    a = IterativeStratifiedKFold(5, shuffle=True, random_state=7).test_folds(None, y)
    b = IterativeStratifiedKFold(5, shuffle=True, random_state=7).test_folds(None, y)
    c = IterativeStratifiedKFold(5, shuffle=True, random_state=8).test_folds(None, y)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    state = IterativeStratifiedKFold(5, shuffle=True, random_state=np.random.RandomState(0))
    d1, d2 = state.test_folds(None, y), state.test_folds(None, y)
    assert not np.array_equal(d1, d2)  # a RandomState advances, as in scikit-learn
    _, test1 = iterative_train_test_split(y, random_state=3)
    _, test2 = iterative_train_test_split(y, random_state=3)
    np.testing.assert_array_equal(test1, test2)
    assert not np.array_equal(test1, iterative_train_test_split(y, random_state=4)[1])


def test_label_forms() -> None:
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [0, 0], [0, 0]])
    expected = IterativeStratifiedKFold(2).test_folds(None, y)
    for form in (
        y.tolist(),
        torch.tensor(y),
        sp.coo_matrix(y),
        TensorDataset(torch.zeros(8), torch.tensor(y)),
    ):
        np.testing.assert_array_equal(IterativeStratifiedKFold(2).test_folds(None, form), expected)


# ----------------------------------------------------------------------------- train/test


@pytest.mark.parametrize(
    ("kwargs", "n_train", "n_test"),
    [
        ({}, 75, 25),
        ({"test_size": 0.2}, 80, 20),
        ({"test_size": 30}, 70, 30),
        ({"test_size": None, "train_size": 0.6}, 60, 40),
        ({"test_size": 10, "train_size": 50}, 50, 10),
        ({"test_size": 0.101}, 89, 11),
    ],
)
def test_train_test_sizes_multiclass(kwargs: dict[str, Any], n_train: int, n_test: int) -> None:
    y = np.repeat(np.arange(5), 20)
    train, test = iterative_train_test_split(y, random_state=0, **kwargs)
    assert train.shape[0] + test.shape[0] == n_train + n_test
    assert np.intersect1d(train, test).shape[0] == 0
    # Each class is within one example of its share, so the size within 5 (classes) of the
    # request; shares that divide evenly are exact.
    per_class = np.bincount(y[test], minlength=5)
    assert np.all(np.abs(per_class - 20 * n_test / 100) < 1)
    assert abs(test.shape[0] - n_test) < 5
    if n_test % 5 == 0:
        assert (train.shape[0], test.shape[0]) == (n_train, n_test)


def test_train_test_multilabel_keeps_label_shares() -> None:
    rng = np.random.default_rng(2)
    y = sp.csr_array((rng.random((2000, 30)) < rng.uniform(0.005, 0.3, 30)).astype(np.int8))
    for order in (1, 2):
        train, test = iterative_train_test_split(y, test_size=0.25, order=order, random_state=0)
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(2000))
        # Label (pair) balance comes first in the papers' algorithm; the size follows.
        assert abs(test.shape[0] - 500) <= (5 if order == 1 else 50)
        if order == 2:
            continue
        counts = y.sum(axis=0)
        test_counts = y[test].sum(axis=0)
        # Rare labels (processed first) within one or two; frequent ones, mostly placed by
        # rarer labels, within 2% - far closer than a random split.
        assert np.all(np.abs(test_counts - counts / 4) <= np.maximum(2, 0.02 * counts))
        random_test = np.random.default_rng(0).permutation(2000)[:500]
        random_error = np.abs(y[random_test].sum(axis=0) - counts / 4).sum()
        assert np.abs(test_counts - counts / 4).sum() < 0.3 * random_error
    deterministic = iterative_train_test_split(y, shuffle=False)
    np.testing.assert_array_equal(deterministic[1], iterative_train_test_split(y, shuffle=False)[1])


# ----------------------------------------------------------------------------- scikit-learn


def test_repr_and_n_splits() -> None:
    cv = IterativeStratifiedKFold(3, order=2, shuffle=True, random_state=4)
    assert repr(cv) == "IterativeStratifiedKFold(n_splits=3, order=2, random_state=4, shuffle=True)"
    assert cv.get_n_splits() == 3
    assert len(list(cv._iter_test_indices(None, [0, 1, 0, 1, 0, 1]))) == 3


def test_cross_val_score_and_grid_search() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    y = (x[:, 0] + 0.3 * rng.normal(size=120) > 0.8).astype(int)  # imbalanced binary
    cv = IterativeStratifiedKFold(4, shuffle=True, random_state=0)
    scores = cross_val_score(LogisticRegression(), x, y, cv=cv)
    assert scores.shape == (4,)
    assert scores.mean() > 0.7
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv).fit(x, y)
    assert search.best_params_["C"] in (0.1, 1.0)


# ----------------------------------------------------------------------------- measures


def test_report_exact_values() -> None:
    y = np.array([[1, 0], [1, 1], [0, 1], [1, 0]])
    report = stratification_report(y, [[0, 2], [1, 3]])
    # Label 0 overall 3:1; folds 1:1 and 2:0 (0 negatives count as 1) -> |1-3|, |2-3|.
    # Label 1 overall 2:2; folds 1:1 and 1:1 -> 0, 0.  LD = (2 + 1 + 0 + 0) / 4.
    assert report.ld == pytest.approx(0.75)
    assert report.ed == 0.0
    assert report.fold_sizes == [2, 2]
    assert report.empty_cells == 0
    # Pairs (0,0) 3, (0,1) 1, (1,1) 2: pair (0,1) is absent from fold [0, 2].
    assert report.empty_pair_cells == 1
    assert report.positives.tolist() == [[1, 1], [2, 1]]
    uneven = stratification_report(y, [[0], [1, 2, 3]], proportions=[1, 3])
    assert uneven.ed == 0.0
    assert uneven.empty_cells == 1
    assert uneven.avoidable_empty_cells == 1
    assert uneven.folds_missing_labels == 1
    assert "LD (label distribution)" in str(report)
    assert report.to_dict()["empty_pair_cells"] == 1


def load_yeast(root: Path) -> np.ndarray:
    with gzip.open(root / "yeast" / "yeast.csv.gz", "rt") as handle:
        header = handle.readline().strip().split(",")
        data = np.loadtxt(handle, delimiter=",")
    columns = [header.index(f"Class{i}") for i in range(1, 15)]
    return data[:, columns].astype(np.int8)


@pytest.fixture(scope="module")
def yeast(test_data_root: Path) -> np.ndarray:
    return load_yeast(test_data_root)


def test_report_matches_scikit_multilearn_measures(yeast: np.ndarray) -> None:
    from skmultilearn.model_selection.measures import label_combination_distribution

    folds = [
        test
        for _, test in IterativeStratifiedKFold(5, shuffle=True, random_state=0).split(None, yeast)
    ]
    report = stratification_report(yeast, folds)
    assert report.ld == pytest.approx(label_combination_distribution(yeast, folds, 1), rel=1e-12)
    assert report.lpd == pytest.approx(label_combination_distribution(yeast, folds, 2), rel=1e-12)
    # ED by hand (scikit-multilearn's example_distribution calls np.sum on a generator, which
    # current numpy rejects).
    assert report.ed == pytest.approx(np.mean([abs(len(f) - yeast.shape[0] / 5) for f in folds]))
    # FLPZ by sets.
    rows = [
        set(itertools.combinations_with_replacement(np.flatnonzero(r).tolist(), 2)) for r in yeast
    ]
    everything = set().union(*rows)
    flpz = sum(len(everything - set().union(*(rows[i] for i in f))) for f in folds)
    assert report.empty_pair_cells == flpz


# ----------------------------------------------------------------------------- quality


Splitter = Callable[[np.ndarray, int], list[np.ndarray]]


def ours(order: int) -> Splitter:
    def split(y: np.ndarray, seed: int) -> list[np.ndarray]:
        cv = IterativeStratifiedKFold(5, order=order, shuffle=True, random_state=seed)
        return [test for _, test in cv.split(None, y)]

    return split


def iterstrat(y: np.ndarray, seed: int) -> list[np.ndarray]:
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    cv = MultilabelStratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return [test for _, test in cv.split(np.zeros((y.shape[0], 1)), y)]


def skmultilearn(y: np.ndarray, seed: int) -> list[np.ndarray]:
    from skmultilearn.model_selection import IterativeStratification

    state = np.random.get_state()  # noqa: NPY002 - its ties use the global numpy RNG
    np.random.seed(seed)  # noqa: NPY002
    try:
        cv = IterativeStratification(n_splits=5, order=1)
        return [np.asarray(test) for _, test in cv.split(np.zeros((y.shape[0], 1)), y)]
    finally:
        np.random.set_state(state)  # noqa: NPY002


def random_kfold(y: np.ndarray, seed: int) -> list[np.ndarray]:
    return [t for _, t in KFold(5, shuffle=True, random_state=seed).split(np.zeros(y.shape[0]))]


def mean_measures(y: np.ndarray, split: Splitter, seeds: int) -> dict[str, float]:
    reports = [stratification_report(y, split(y, seed)) for seed in range(seeds)]
    return {
        "ld": float(np.mean([r.ld for r in reports])),
        "lpd": float(np.mean([r.lpd for r in reports])),
        "avoidable": float(np.mean([r.avoidable_empty_cells for r in reports])),
    }


def long_tail(n: int, n_labels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = 0.3 * np.arange(1, n_labels + 1, dtype=np.float64) ** -1.0
    base = rng.random((n, n_labels)) < rates
    base[:, 1] |= base[:, 0] & (rng.random(n) < 0.5)  # correlated labels
    return base.astype(np.int8)


def test_quality_on_yeast(yeast: np.ndarray) -> None:
    seeds = 6
    first = mean_measures(yeast, ours(1), seeds)
    second = mean_measures(yeast, ours(2), seeds)
    peer_iterstrat = mean_measures(yeast, iterstrat, seeds)
    peer_skml = mean_measures(yeast, skmultilearn, 3)
    random = mean_measures(yeast, random_kfold, seeds)
    assert first["ld"] <= min(peer_iterstrat["ld"], peer_skml["ld"]) * (1 + 1e-9)
    assert second["lpd"] < first["lpd"]
    assert first["ld"] < 0.7 * random["ld"]
    assert second["lpd"] < 0.5 * random["lpd"]
    assert first["avoidable"] == 0  # every label has at least 34 positives


def test_quality_on_long_tailed_matrix() -> None:
    y = long_tail(3000, 40)
    seeds = 3
    first = mean_measures(y, ours(1), seeds)
    second = mean_measures(y, ours(2), seeds)
    peer_iterstrat = mean_measures(y, iterstrat, seeds)
    peer_skml = mean_measures(y, skmultilearn, seeds)
    random = mean_measures(y, random_kfold, seeds)
    assert first["ld"] <= min(peer_iterstrat["ld"], peer_skml["ld"]) * (1 + 1e-9)
    assert first["ld"] < 0.5 * random["ld"]
    assert second["lpd"] < first["lpd"] < random["lpd"]
    assert first["avoidable"] == 0


def test_sparse_input_is_not_densified() -> None:
    rng = np.random.default_rng(0)
    n, n_labels = 100_000, 2048
    rows = np.repeat(np.arange(n), 5)
    cols = rng.integers(0, n_labels, rows.shape[0])
    y = sp.csr_array((np.ones(rows.shape[0], np.int8), (rows, cols)), shape=(n, n_labels))
    y.data[:] = 1
    tracemalloc.start()
    try:
        folds = IterativeStratifiedKFold(5).test_folds(None, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sizes = np.bincount(folds, minlength=5)
    assert sizes.sum() == n
    assert np.abs(sizes - n // 5).max() < 0.005 * n
    assert peak < n * n_labels / 4  # a dense int8 copy alone would be n * n_labels bytes


# ----------------------------------------------------------------------------- errors

Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: IterativeStratifiedKFold(1), ValueError, r"`n_splits` should be an integer >= 2"),
        (lambda: IterativeStratifiedKFold(2.0), TypeError, r"`n_splits` should be"),  # type: ignore[arg-type]
        (lambda: IterativeStratifiedKFold(True), TypeError, r"`n_splits`"),  # type: ignore[arg-type]
        (lambda: IterativeStratifiedKFold(3, order=3), ValueError, r"`order` should be 1 .* or 2"),
        (lambda: IterativeStratifiedKFold(3, order="1"), TypeError, r"`order`"),  # type: ignore[arg-type]
        (
            lambda: IterativeStratifiedKFold(3, shuffle=1),
            TypeError,
            r"`shuffle` should be True or False",
        ),  # type: ignore[arg-type]
        (lambda: IterativeStratifiedKFold(3, random_state=0), ValueError, r"set shuffle=True"),
        (
            lambda: IterativeStratifiedKFold(3, shuffle=True, random_state=-1),
            ValueError,
            r"`random_state`",
        ),
        (
            lambda: IterativeStratifiedKFold(3, shuffle=True, random_state="a"),
            TypeError,
            r"`random_state`",
        ),  # type: ignore[arg-type]
        (lambda: IterativeStratifiedKFold(3).split(np.zeros(4)), ValueError, r"`y` is required"),
        (
            lambda: IterativeStratifiedKFold(3).split(np.zeros(5), Y),
            ValueError,
            r"same number of samples",
        ),
        (
            lambda: IterativeStratifiedKFold(5).split(None, Y),
            ValueError,
            r"`n_splits` should be at most the number of samples \(4\)",
        ),
        (
            lambda: IterativeStratifiedKFold(2).split(None, []),
            ValueError,
            r"`y` should not be empty",
        ),
        (
            lambda: IterativeStratifiedKFold(2).split(None, np.zeros((2, 2, 2))),
            ValueError,
            r"`y` should be 1-D .* or 2-D",
        ),
        (
            lambda: IterativeStratifiedKFold(2).split(None, np.array([[2, 0], [0, 1]])),
            ValueError,
            r"0/1",
        ),
        (
            lambda: iterative_train_test_split(Y, test_size=0.0),
            ValueError,
            r"`test_size` should be a fraction in \(0, 1\)",
        ),
        (lambda: iterative_train_test_split(Y, test_size=1.5), ValueError, r"`test_size`"),
        (lambda: iterative_train_test_split(Y, test_size=float("nan")), ValueError, r"`test_size`"),
        (
            lambda: iterative_train_test_split(Y, test_size=4),
            ValueError,
            r"`test_size` should be a number of samples in \[1, 3\]",
        ),
        (lambda: iterative_train_test_split(Y, test_size=True), TypeError, r"`test_size`"),
        (lambda: iterative_train_test_split(Y, test_size="0.2"), TypeError, r"`test_size`"),  # type: ignore[arg-type]
        (
            lambda: iterative_train_test_split(Y, test_size=2, train_size=3),
            ValueError,
            r"at most the number of samples \(4\)",
        ),
        (lambda: iterative_train_test_split(Y, order=0), ValueError, r"`order`"),
        (
            lambda: iterative_train_test_split(Y, shuffle=False, random_state=1),
            ValueError,
            r"shuffle=True",
        ),
        (lambda: iterative_train_test_split([1]), ValueError, r"at least 2 samples"),
        (lambda: iterative_train_test_split(None), TypeError, r"`labels` should be"),
        (
            lambda: stratification_report(Y, np.array([0, 1, 0, 1])),
            TypeError,
            r"`folds` should be a list of index arrays",
        ),
        (lambda: stratification_report(Y, []), ValueError, r"at least one fold"),
        (
            lambda: stratification_report(Y, [[0, 4]]),
            ValueError,
            r"`folds\[0\]` should hold indices in \[0, 3\]",
        ),
        (lambda: stratification_report(Y, [[0.5]]), TypeError, r"integer sample indices"),
        (
            lambda: stratification_report(Y, [(np.array([0]), np.array([1]))]),
            ValueError,
            r"1-D array",
        ),
        (
            lambda: stratification_report(Y, [[0], [1]], proportions=[1]),
            ValueError,
            r"`proportions`",
        ),
        (lambda: stratification_report(Y, [[0]], pairs=1), TypeError, r"`pairs`"),  # type: ignore[arg-type]
    ],
)
def test_bad_input(call: Callable[[], Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()
