"""random_oversample / random_undersample: imbalanced-learn parity, exact fixtures, bad input."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler

from balancers import random_oversample, random_undersample
from balancers._labels import check_labels
from balancers._rng import make_rng
from balancers.resample._random import _uniform_picks
from balancers.resample._strategy import resolve_sampling_strategy

# The algorithms are tested here; their warnings when they change nothing, in
# test_noop_warnings.py.
pytestmark = pytest.mark.filterwarnings(
    "ignore:random_(over|under)sample (added|removed) no sample:UserWarning"
)

# 7 of class 2, 4 of class 5, 2 of class 9, in mixed order
Y = np.array([2, 5, 2, 9, 2, 5, 2, 2, 5, 9, 2, 5, 2])
BINARY = np.array([0] * 10 + [1] * 3)


def half_of_each(y: np.ndarray) -> dict[Any, int]:
    return {k: v // 2 for k, v in Counter(y.tolist()).items()}


def double_of_each(y: np.ndarray) -> dict[Any, int]:
    return {k: v * 2 for k, v in Counter(y.tolist()).items()}


OVER_STRATEGIES: list[tuple[np.ndarray, Any]] = [
    (Y, "auto"),
    (Y, "minority"),
    (Y, "not minority"),
    (Y, "not majority"),
    (Y, "all"),
    (Y, {9: 6, 5: 4}),
    (Y, double_of_each),
    (BINARY, 0.5),
    (BINARY, 1.0),
    (BINARY, "auto"),
]
UNDER_STRATEGIES: list[tuple[np.ndarray, Any]] = [
    (Y, "auto"),
    (Y, "majority"),
    (Y, "not minority"),
    (Y, "not majority"),
    (Y, "all"),
    (Y, {2: 3, 9: 0}),
    (Y, half_of_each),
    (BINARY, 0.5),
    (BINARY, 1.0),
]


def ids(values: list[tuple[np.ndarray, Any]]) -> list[str]:
    return [("binary-" if y is BINARY else "") + getattr(s, "__name__", repr(s)) for y, s in values]


def _x(y: np.ndarray, columns: int = 1) -> np.ndarray:
    return np.arange(len(y) * columns, dtype=float).reshape(len(y), columns)


@pytest.mark.parametrize(("y", "strategy"), OVER_STRATEGIES, ids=ids(OVER_STRATEGIES))
def test_oversample_counts_match_imblearn(y: np.ndarray, strategy: Any) -> None:
    ours = random_oversample(y, strategy, seed=0)
    ref = RandomOverSampler(sampling_strategy=strategy, random_state=0)
    _, y_ref = ref.fit_resample(_x(y), y)
    assert Counter(y[ours].tolist()) == Counter(y_ref.tolist())
    assert ours[: len(y)].tolist() == list(range(len(y)))  # every original index, in order
    assert len(ours) == len(ref.sample_indices_)


@pytest.mark.parametrize(("y", "strategy"), UNDER_STRATEGIES, ids=ids(UNDER_STRATEGIES))
@pytest.mark.parametrize("replacement", [False, True])
def test_undersample_counts_match_imblearn(y: np.ndarray, strategy: Any, replacement: bool) -> None:
    ours = random_undersample(y, strategy, seed=0, replacement=replacement)
    ref = RandomUnderSampler(sampling_strategy=strategy, random_state=0, replacement=replacement)
    _, y_ref = ref.fit_resample(_x(y), y)
    assert Counter(y[ours].tolist()) == Counter(y_ref.tolist())
    if not replacement:
        assert len(set(ours.tolist())) == len(ours)
    # class by class in ascending class order, ascending within a class
    assert np.all(np.diff(y[ours]) >= 0)
    for cls in np.unique(y):
        assert np.all(np.diff(ours[y[ours] == cls]) >= 0)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    counts=st.lists(st.integers(1, 60), min_size=2, max_size=7),
    over=st.booleans(),
    name=st.sampled_from(["auto", "not minority", "not majority", "all"]),
    seed=st.integers(0, 2**31),
)
def test_string_strategies_match_imblearn_on_random_labels(
    counts: list[int], over: bool, name: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(counts)) * 3, counts))
    if over:
        ours = random_oversample(y, name, seed=seed)
        _, y_ref = RandomOverSampler(sampling_strategy=name).fit_resample(_x(y), y)
        assert set(ours.tolist()) == set(range(len(y)))
    else:
        ours = random_undersample(y, name, seed=seed)
        _, y_ref = RandomUnderSampler(sampling_strategy=name).fit_resample(_x(y), y)
        assert len(set(ours.tolist())) == len(ours)
    assert Counter(y[ours].tolist()) == Counter(y_ref.tolist())


def test_resolver_exact_and_sorted() -> None:
    lab = check_labels(Y)
    assert resolve_sampling_strategy(lab, "auto", "over") == {5: 7, 9: 7}
    assert resolve_sampling_strategy(lab, "auto", "under") == {2: 2, 5: 2}
    assert resolve_sampling_strategy(lab, "all", "under") == {2: 2, 5: 2, 9: 2}
    got = resolve_sampling_strategy(lab, {9: 5, 2: 7, 5: 6}, "over")
    assert list(got) == [2, 5, 9] and got == {2: 7, 5: 6, 9: 5}
    assert resolve_sampling_strategy(check_labels(BINARY), 0.5, "over") == {1: 5}
    assert resolve_sampling_strategy(check_labels(BINARY), 0.5, "under") == {0: 6}


def test_string_classes_and_tensor_labels() -> None:
    names = np.array(["cat", "dog", "cat", "eel", "cat"])
    idx = random_oversample(names, {"eel": 3}, seed=1)
    assert idx.tolist() == [0, 1, 2, 3, 4, 3, 3]
    t = torch.tensor(Y)
    assert random_undersample(t, seed=3).tolist() == random_undersample(Y, seed=3).tolist()


def test_deterministic_and_seed_dependent() -> None:
    y = np.repeat(np.arange(3), [50, 20, 5])
    assert random_oversample(y, seed=4).tolist() == random_oversample(y, seed=4).tolist()
    assert random_oversample(y, seed=4).tolist() != random_oversample(y, seed=5).tolist()
    assert random_undersample(y, seed=4).tolist() != random_undersample(y, seed=5).tolist()


def test_undersample_is_uniform_within_class() -> None:
    y = np.array([0] * 10 + [1] * 2)
    picks = np.concatenate([random_undersample(y, seed=s) for s in range(2000)])
    uses = np.bincount(picks[picks < 10], minlength=10)
    assert uses.sum() == 4000 and uses.min() > 320 and uses.max() < 480


def test_oversample_draws_uniformly_with_replacement() -> None:
    y = np.array([0] * 1000 + [1] * 4)
    extra = random_oversample(y, seed=0)[len(y) :]
    assert len(extra) == 996
    uses = np.bincount(extra - 1000, minlength=4)
    assert uses.min() > 200


BAD_INPUT = [
    (
        lambda: random_oversample(Y, {7: 10}),
        ValueError,
        r"`sampling_strategy` names class 7, which is absent.*\[2, 5, 9\]",
    ),
    (lambda: random_oversample(Y, {"x": 10}), ValueError, r"names class 'x', which is absent"),
    (
        lambda: random_undersample(Y, {9: 3}),
        ValueError,
        r"at most the current count.*sampling_strategy\[9\]=3 for a class of 2",
    ),
    (
        lambda: random_oversample(Y, {5: 3}),
        ValueError,
        r"at least the current count.*sampling_strategy\[5\]=3",
    ),
    (
        lambda: random_oversample(Y, 0.5),
        ValueError,
        r"float only for binary labels.*3 classes.*dict",
    ),
    (lambda: random_undersample(Y, 0.5), ValueError, r"float only for binary labels"),
    (
        lambda: random_oversample(BINARY, 0.2),
        ValueError,
        r"above the current minority/majority ratio",
    ),
    (
        lambda: random_undersample(BINARY, 0.2),
        ValueError,
        r"at least the current minority/majority ratio",
    ),
    (
        lambda: random_oversample(BINARY, 1.5),
        ValueError,
        r"`sampling_strategy` should be a finite number > 0 and <= 1",
    ),
    (
        lambda: random_oversample(BINARY, 0.0),
        ValueError,
        r"`sampling_strategy` should be a finite number > 0",
    ),
    (
        lambda: random_oversample(Y, "majority"),
        ValueError,
        r"should not be 'majority' for over-sampling",
    ),
    (
        lambda: random_undersample(Y, "minority"),
        ValueError,
        r"should not be 'minority' for under-sampling",
    ),
    (
        lambda: random_oversample(Y, "most"),
        ValueError,
        r"`sampling_strategy` should be one of 'auto'.*sampling_strategy='most'",
    ),
    (
        lambda: random_oversample(Y, True),
        TypeError,
        r"`sampling_strategy` should be .*of type bool",
    ),
    (
        lambda: random_oversample(Y, [2, 5]),
        TypeError,
        r"`sampling_strategy` should be .*of type list",
    ),
    (
        lambda: random_oversample(Y, {5: 6.5}),
        TypeError,
        r"integer target counts.*sampling_strategy\[5\]=6.5",
    ),
    (
        lambda: random_undersample(Y, {5: -1}),
        ValueError,
        r"non-negative counts.*sampling_strategy\[5\]=-1",
    ),
    (lambda: random_oversample(Y, lambda y: [1]), TypeError, r"should return a dict"),
    (lambda: random_oversample([1, 1, 1]), ValueError, r"at least 2 classes.*got 1 class"),
    (lambda: random_oversample(np.eye(3)), ValueError, r"`labels` should be multiclass.*ml_ros"),
    (lambda: random_undersample(np.eye(3)), ValueError, r"`labels` should be multiclass.*ml_rus"),
    (lambda: random_oversample([]), ValueError, r"`labels` should not be empty"),
    (lambda: random_oversample(Y, seed=-1), ValueError, r"`seed` should be a non-negative integer"),
    (
        lambda: random_undersample(Y, replacement="yes"),
        TypeError,
        r"`replacement` should be True or False",
    ),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD_INPUT)
def test_bad_input(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("n_classes", [5, 100])  # class-by-class loop and the vectorized path
def test_uniform_picks_follow_one_documented_stream(n_classes: int) -> None:
    sizes = np.arange(1, n_classes + 1, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    positions = np.arange(n_classes - 1, -1, -2, dtype=np.int64)  # a subset, not in order
    draws = (positions % 7 + 1).astype(np.int64)
    got = _uniform_picks(make_rng(4), indptr, positions, draws)
    u = make_rng(4).random(int(draws.sum()))
    size = np.repeat(sizes[positions], draws)
    expected = np.minimum(np.floor(u * size).astype(np.int64), size - 1)
    expected += np.repeat(indptr[positions], draws)
    np.testing.assert_array_equal(got, expected)
