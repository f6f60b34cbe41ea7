"""long_tail_indices and balanced_indices: exact selections, invariants, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from balancers.datasets import balanced_indices, long_tail_indices

#            0  1  2  3  4  5  6  7  8  9 10 11
LABELS = [2, 0, 1, 0, 2, 0, 1, 2, 2, 0, 1, 2]
# class 0 at [1, 3, 5, 9], class 1 at [2, 6, 10], class 2 at [0, 4, 7, 8, 11]


def _class_counts(labels: Any, idx: np.ndarray) -> list[int]:
    return np.bincount(np.asarray(labels)[idx], minlength=3).tolist()


def test_first_keeps_dataset_order() -> None:
    idx = long_tail_indices(LABELS, [3, 2, 1], selection="first")
    assert idx.dtype == np.int64
    assert idx.tolist() == [0, 1, 2, 3, 5, 6]


def test_first_ignores_seed() -> None:
    a = long_tail_indices(LABELS, [2, 1, 1], selection="first", seed=0)
    b = long_tail_indices(LABELS, [2, 1, 1], selection="first", seed=123)
    assert a.tolist() == b.tolist() == [0, 1, 2, 3]


def test_random_exact_counts_sorted_and_seeded() -> None:
    labels = np.repeat([0, 1, 2], [300, 200, 100])
    a = long_tail_indices(labels, [150, 60, 10], seed=7)
    assert _class_counts(labels, a) == [150, 60, 10]
    assert np.all(np.diff(a) > 0)
    assert a.tolist() == long_tail_indices(labels, [150, 60, 10], seed=7).tolist()
    assert a.tolist() != long_tail_indices(labels, [150, 60, 10], seed=8).tolist()
    assert a.tolist() != long_tail_indices(labels, [150, 60, 10], selection="first").tolist()


def test_ldam_matches_a_shared_randomstate_stream() -> None:
    # Expected values derived here with RandomState.permutation (the same stream as an in-place
    # shuffle of each class's positions, classes in ascending order).
    state = np.random.RandomState(3)
    labels = np.asarray(LABELS)
    expected = []
    for c, n in zip([0, 1, 2], [3, 1, 2], strict=True):
        positions = np.flatnonzero(labels == c)
        expected += positions[state.permutation(positions.size)][:n].tolist()
    got = long_tail_indices(LABELS, [3, 1, 2], seed=3, selection="ldam")
    assert got.tolist() == expected
    assert _class_counts(LABELS, got) == [3, 1, 2]


def test_ldam_leaves_the_global_rng_alone() -> None:
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state is the subject
    long_tail_indices(np.repeat(np.arange(4), 10), [10, 5, 3, 1], selection="ldam")
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_label_forms_and_noncontiguous_classes() -> None:
    labels = ["cat", "dog", "cat", "emu", "dog", "cat"]  # sorted classes: cat, dog, emu
    idx = long_tail_indices(labels, [2, 1, 1], selection="first")
    assert idx.tolist() == [0, 1, 2, 3]
    ids = torch.tensor([42, 3, 42, 7, 3, 42])  # sorted classes: 3, 7, 42
    idx = long_tail_indices(ids, [1, 1, 3], selection="first")
    assert idx.tolist() == [0, 1, 2, 3, 5]
    assert (
        long_tail_indices(ids, torch.tensor([1, 1, 3]), selection="first").tolist() == idx.tolist()
    )


def test_zero_count_drops_a_class() -> None:
    idx = long_tail_indices(LABELS, [0, 3, 0], seed=0)
    assert idx.tolist() == [2, 6, 10]


def test_balanced_exact_and_seeded() -> None:
    idx = balanced_indices(LABELS, "min", seed=1)
    assert _class_counts(LABELS, idx) == [3, 3, 3]
    assert np.all(np.diff(idx) > 0)
    assert idx.tolist() == balanced_indices(LABELS, 3, seed=1).tolist()
    assert balanced_indices(LABELS, 0).tolist() == []


@pytest.mark.parametrize(
    "exclude",
    [[2, 0, 4], np.array([0, 2, 4]), torch.tensor([0, 2, 4]), np.isin(np.arange(12), [0, 2, 4])],
)
def test_balanced_exclude(exclude: Any) -> None:
    # after excluding 0, 2, 4: class 0 keeps 4, class 1 keeps 2 (6, 10), class 2 keeps 3
    idx = balanced_indices(LABELS, "min", exclude=exclude, seed=0)
    assert _class_counts(LABELS, idx) == [2, 2, 2]
    assert not set(idx.tolist()) & {0, 2, 4}
    assert {6, 10} <= set(idx.tolist())


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=8),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    selection=st.sampled_from(["random", "first", "ldam"]),
)
def test_long_tail_invariants(sizes: list[int], data: Any, seed: int, selection: str) -> None:
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(len(sizes)), sizes))
    counts = [data.draw(st.integers(0, s)) for s in sizes]
    idx = long_tail_indices(labels, counts, seed=seed, selection=selection)
    assert np.unique(idx).size == idx.size
    assert idx.min(initial=0) >= 0
    assert idx.max(initial=0) < labels.size
    assert np.bincount(labels[idx], minlength=len(sizes)).tolist() == counts
    assert (
        idx.tolist() == long_tail_indices(labels, counts, seed=seed, selection=selection).tolist()
    )


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 40), min_size=1, max_size=8),
    seed=st.integers(0, 1000),
    fraction=st.floats(0.0, 0.5),
)
def test_balanced_invariants(sizes: list[int], seed: int, fraction: float) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(sizes)), sizes))
    exclude = np.flatnonzero(rng.random(labels.size) < fraction)
    idx = balanced_indices(labels, "min", exclude=exclude, seed=seed)
    left = np.bincount(np.delete(labels, exclude), minlength=len(sizes))
    assert np.bincount(labels[idx], minlength=len(sizes)).tolist() == [int(left.min())] * len(sizes)
    assert not np.isin(idx, exclude).any()
    assert np.unique(idx).size == idx.size


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: long_tail_indices(LABELS, [1, 1]), ValueError, r"one entry per class \(3 classes"),
        (lambda: long_tail_indices(LABELS, [1, 1, 1, 1]), ValueError, r"but got 4 counts"),
        (
            lambda: long_tail_indices(LABELS, [5, 1, 1]),
            ValueError,
            r"counts\[0\]=5 for class 0, which has 4 samples",
        ),
        (lambda: long_tail_indices(LABELS, [1, -1, 1]), ValueError, r"counts\[1\]=-1"),
        (lambda: long_tail_indices(LABELS, "3,1,1"), TypeError, r"`counts` should be a sequence"),
        (lambda: long_tail_indices(LABELS, [1.5, 1, 1]), TypeError, r"`counts` should be a 1-D"),
        (lambda: long_tail_indices(LABELS, {0: 1}), TypeError, r"`counts` should be a sequence"),
        (
            lambda: long_tail_indices(LABELS, [1, 1, 1], selection="head"),
            ValueError,
            r"`selection` should be one of 'random', 'first', 'ldam'",
        ),
        (
            lambda: long_tail_indices(LABELS, [1, 1, 1], selection="ldam", seed=2**32),
            ValueError,
            r"`seed` should be below 2\*\*32",
        ),
        (lambda: long_tail_indices(LABELS, [1, 1, 1], seed=-1), ValueError, r"`seed` should be"),
        (
            lambda: long_tail_indices([[1, 0], [0, 1]], [1, 1]),
            ValueError,
            r"`labels` should be multiclass",
        ),
        (lambda: long_tail_indices([], []), ValueError, r"`labels` should not be empty"),
        (
            lambda: balanced_indices(LABELS, 4),
            ValueError,
            r"`per_class` should be at most the smallest class count \(3, class 1\)",
        ),
        (
            lambda: balanced_indices(LABELS, 3, exclude=[2]),
            ValueError,
            r"\(2, class 1 left after `exclude`\)",
        ),
        (lambda: balanced_indices(LABELS, "max"), ValueError, r"`per_class` should be .* or 'min'"),
        (lambda: balanced_indices(LABELS, 2.0), TypeError, r"`per_class` should be"),
        (lambda: balanced_indices(LABELS, -1), ValueError, r"`per_class` should be"),
        (
            lambda: balanced_indices(LABELS, 1, exclude=[12]),
            ValueError,
            r"`exclude` should hold indices in \[0, 12\), but got exclude\[0\]=12",
        ),
        (
            lambda: balanced_indices(LABELS, 1, exclude=np.ones(5, dtype=bool)),
            ValueError,
            r"`exclude` as a boolean mask should have shape \(12,\)",
        ),
        (lambda: balanced_indices(LABELS, 1, exclude="0"), TypeError, r"`exclude` should be"),
        (lambda: balanced_indices(LABELS, 1, exclude=[0.5]), TypeError, r"`exclude` should be"),
    ],
)
def test_bad_input(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()
