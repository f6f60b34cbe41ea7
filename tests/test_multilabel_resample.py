"""ML-ROS, ML-RUS, LP-ROS, LP-RUS: hand-computed runs, a clone-by-clone oracle, invariants."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from balancers import describe, lp_ros, lp_rus, ml_ros, ml_rus
from balancers import resample as resample_pkg
from balancers._rng import make_rng
from balancers.resample import _multilabel as multilabel_module
from balancers.resample._multilabel import _share_budget
from tests.test_describe import read_yeast

# The algorithms are tested here; their warnings when they change nothing, in
# test_noop_warnings.py.
pytestmark = pytest.mark.filterwarnings(
    "ignore:(ml|lp)_r[ou]s (cloned|deleted) \\d+ rows:UserWarning"
)

ALL = (ml_ros, ml_rus, lp_ros, lp_rus)
OVER = (ml_ros, lp_ros)
UNDER = (ml_rus, lp_rus)


def budget(n: int, p: float) -> int:
    return math.floor(n * p / 100 + 1e-9)


def irlbl(y: np.ndarray) -> tuple[np.ndarray, float]:
    counts = y.sum(axis=0).astype(float)
    ir = np.full(counts.shape, np.inf)
    ir[counts > 0] = counts.max() / counts[counts > 0]
    return ir, float(ir[np.isfinite(ir)].mean())


def oracle_ml_ros(y: np.ndarray, percentage: float, seed: int) -> np.ndarray:
    """The algorithm of Charte et al. 2015, one clone at a time (clone j uses uniform j)."""
    n = y.shape[0]
    total = budget(n, percentage)
    u = make_rng(seed).random(total)
    counts = y.sum(axis=0).astype(np.int64)
    ir, mean_ir = irlbl(y)
    bags = [b for b in range(y.shape[1]) if np.isfinite(ir[b]) and ir[b] > mean_ir]
    rows = {b: np.flatnonzero(y[:, b]) for b in bags}
    clones: list[int] = []
    while len(clones) < total and bags:
        for b in list(bags):
            size = len(rows[b])
            row = int(rows[b][min(int(u[len(clones)] * size), size - 1)])
            clones.append(row)
            counts = counts + y[row]
            if counts.max() / counts[b] <= mean_ir:
                bags.remove(b)
            if len(clones) == total:
                break
    return np.concatenate([np.arange(n), np.asarray(clones, dtype=np.int64)])


@st.composite
def label_matrices(draw: Any) -> np.ndarray:
    n = draw(st.integers(3, 40))
    n_labels = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_labels)) < rng.random(n_labels) ** 2).astype(np.int8)
    y[rng.integers(n), rng.integers(n_labels)] = 1  # at least one positive
    return y


# ------------------------------------------------------------------------------ hand-computed
# Columns A, B, C, D, E. Rows 0-9 {A, D, E}, row 10 {A, B}, row 11 {C}.
# Counts 11, 1, 1, 10, 10 -> IRLbl 1, 11, 11, 1.1, 1.1 and MeanIR 5.04; bags B = [10], C = [11].
HAND = np.array([[1, 0, 0, 1, 1]] * 10 + [[1, 1, 0, 0, 0], [0, 0, 1, 0, 0]], dtype=np.int8)


def test_ml_ros_full_run_by_hand() -> None:
    # Round 1: clone 10 -> A 12, B 2, IRLbl(B) 6 > 5.04 stays; clone 11 -> C 2, 12/2 = 6 stays.
    # Round 2: clone 10 -> A 13, B 3, 13/3 <= 5.04 leaves; clone 11 -> C 3, 13/3 leaves.
    out = ml_ros(HAND, 100.0, seed=123)
    assert out.tolist() == [*range(12), 10, 11, 10, 11]
    # The budget (floor(12 * 25 / 100) = 3) stops the run in the middle of round 2.
    assert ml_ros(HAND, 25.0, seed=5).tolist() == [*range(12), 10, 11, 10]


def test_ml_rus_by_hand() -> None:
    # Columns A, B, C: rows 0-3 {A}, 4-5 {B}, 6 {C}; IRLbl 1, 2, 4, MeanIR 7/3.
    # C is a minority label (row 6 protected); A and B are majority bags. Budget floor(3.5) = 3.
    # Round 1: A deletes one of 0-3; B deletes one of 4-5 -> B 1, IRLbl 3 >= 7/3, B leaves.
    # Round 2: A deletes another of 0-3 and the budget is spent.
    y = np.array([[1, 0, 0]] * 4 + [[0, 1, 0]] * 2 + [[0, 0, 1]], dtype=np.int8)
    for seed in range(5):
        kept = ml_rus(y, 50.0, seed=seed).tolist()
        assert len(kept) == 4 and 6 in kept
        assert len(set(kept) & {0, 1, 2, 3}) == 2 and len(set(kept) & {4, 5}) == 1


def test_lp_ros_by_hand() -> None:
    # Labelsets {0} x6 (rows 0-5), {1} x1 (row 6), {0,1} x2 (rows 7-8); mean size 3.
    y = [[1, 0]] * 6 + [[0, 1]] + [[1, 1]] * 2
    clones = lp_ros(y, 50.0, seed=0)[9:].tolist()  # budget 4, needs 1 + 2
    assert clones[0] in (7, 8) and clones[1:] == [6, 6]  # processed largest labelset first
    # Budget 1: {0,1} comes first but its share floor(1/2) is 0; {1} then gets 1.
    assert lp_ros(y, 20.0, seed=0)[9:].tolist() == [6]


def test_lp_rus_by_hand() -> None:
    y = [[1, 0]] * 6 + [[0, 1], [1, 1]]  # sizes 6, 1, 1; mean 8/3; {0} may lose 3
    assert lp_rus(y, 25.0, seed=0).shape == (6,)  # budget 2
    kept = lp_rus(y, 50.0, seed=0).tolist()  # budget 4, capped at 3
    assert len(kept) == 5 and kept[-2:] == [6, 7]


def test_share_budget_by_hand() -> None:
    assert _share_budget(np.array([1, 2, 10, 10]), 12).tolist() == [1, 2, 4, 5]
    assert _share_budget(np.array([1, 2]), 100).tolist() == [1, 2]
    assert _share_budget(np.array([5, 5, 5]), 7).tolist() == [2, 2, 3]
    assert _share_budget(np.array([], dtype=np.int64), 3).tolist() == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=12).map(sorted), st.integers(0, 80))
def test_share_budget_matches_loop(need: list[int], total: int) -> None:
    expected, remaining = [], total
    for i, d in enumerate(need):
        take = min(d, remaining // (len(need) - i))
        expected.append(take)
        remaining -= take
    assert _share_budget(np.array(need, dtype=np.int64), total).tolist() == expected


# ------------------------------------------------------------------------------------- oracle
@settings(max_examples=60, deadline=None)
@given(label_matrices(), st.floats(1.0, 300.0), st.integers(0, 1000))
def test_ml_ros_equals_clone_by_clone_oracle(y: np.ndarray, p: float, seed: int) -> None:
    assert ml_ros(y, p, seed=seed).tolist() == oracle_ml_ros(y, p, seed).tolist()


@pytest.mark.parametrize("block", [8, 64, 1 << 16])
def test_ml_ros_equals_oracle_across_blocks(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    # Three rare labels leave at different rounds; small blocks force many block boundaries.
    monkeypatch.setattr(multilabel_module, "_BLOCK", block)
    rng = np.random.default_rng(3)
    freq = [0.5] * 8 + [0.001, 0.002, 0.004, 0.008]
    y = (rng.random((3000, 12)) < freq).astype(np.int8)
    y[:3, 8] = y[3:9, 9] = y[9:21, 10] = 1
    out = ml_ros(y, 150.0, seed=9)
    assert out.shape[0] > 3000 + 30
    assert out.tolist() == oracle_ml_ros(y, 150.0, 9).tolist()


# ---------------------------------------------------------------------------------- invariants
@settings(max_examples=60, deadline=None)
@given(label_matrices(), st.floats(1.0, 200.0), st.integers(0, 100))
def test_ml_ros_invariants(y: np.ndarray, p: float, seed: int) -> None:
    n = y.shape[0]
    out = ml_ros(y, p, seed=seed)
    assert out.dtype == np.int64
    assert out[:n].tolist() == list(range(n))  # every original row, once, first
    clones = out[n:]
    assert clones.shape[0] <= budget(n, p)
    ir, mean_ir = irlbl(y)
    minority = np.isfinite(ir) & (ir > mean_ir)
    assert (y[clones][:, minority].sum(axis=1) > 0).all()  # clones carry a minority label
    after = y[out]
    if after.sum(axis=0).max() == y.sum(axis=0).max():
        # With the largest count unchanged, every IRLbl can only fall: MeanIR never increases.
        assert irlbl(after)[1] <= mean_ir + 1e-12


@settings(max_examples=60, deadline=None)
@given(label_matrices(), st.floats(1.0, 200.0), st.integers(0, 100))
def test_lp_ros_invariants(y: np.ndarray, p: float, seed: int) -> None:
    n = y.shape[0]
    out = lp_ros(y, p, seed=seed)
    assert out[:n].tolist() == list(range(n))
    clones = out[n:]
    assert clones.shape[0] <= budget(n, p)
    keys = [tuple(r) for r in y.tolist()]
    sizes = {k: keys.count(k) for k in set(keys)}
    mean_size = n / len(sizes)
    grown = {k: keys.count(k) for k in set(keys)}
    for row in clones.tolist():
        assert sizes[keys[row]] < mean_size  # only minority labelsets are cloned
        grown[keys[row]] += 1
    assert all(grown[k] <= max(sizes[k], mean_size) for k in sizes)


@settings(max_examples=60, deadline=None)
@given(label_matrices(), st.floats(1.0, 99.0), st.integers(0, 100))
def test_ml_rus_invariants(y: np.ndarray, p: float, seed: int) -> None:
    n = y.shape[0]
    kept = ml_rus(y, p, seed=seed)
    assert kept.dtype == np.int64
    assert np.unique(kept).tolist() == kept.tolist()  # distinct and ascending
    deleted = np.setdiff1d(np.arange(n), kept)
    assert deleted.shape[0] <= budget(n, p)
    ir, mean_ir = irlbl(y)
    minority = np.isfinite(ir) & (ir > mean_ir)
    majority = np.isfinite(ir) & (ir < mean_ir)
    assert y[deleted][:, minority].sum() == 0  # never a row with a minority label
    assert (y[deleted][:, majority].sum(axis=1) > 0).all()  # only rows of majority bags
    assert set(np.flatnonzero(y.sum(axis=1) == 0).tolist()) <= set(kept.tolist())


@settings(max_examples=60, deadline=None)
@given(label_matrices(), st.floats(1.0, 99.0), st.integers(0, 100))
def test_lp_rus_invariants(y: np.ndarray, p: float, seed: int) -> None:
    n = y.shape[0]
    kept = lp_rus(y, p, seed=seed)
    assert np.unique(kept).tolist() == kept.tolist()
    deleted = np.setdiff1d(np.arange(n), kept)
    assert deleted.shape[0] <= budget(n, p)
    keys = [tuple(r) for r in y.tolist()]
    sizes = {k: keys.count(k) for k in set(keys)}
    mean_size = n / len(sizes)
    left = {k: sum(1 for i in kept.tolist() if keys[i] == k) for k in sizes}
    for k, size in sizes.items():
        assert left[k] == size or (size > mean_size and left[k] >= mean_size)


@pytest.mark.parametrize("func", ALL)
def test_deterministic_given_seed(func: Any) -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((400, 6)) < [0.7, 0.5, 0.2, 0.05, 0.02, 0.3]).astype(np.int8)
    a, b = func(y, 30.0, seed=11), func(y, 30.0, seed=11)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, func(y, 30.0, seed=12))


@pytest.mark.parametrize("func", ALL)
def test_label_forms_agree(func: Any) -> None:
    rng = np.random.default_rng(2)
    y = (rng.random((60, 4)) < [0.6, 0.3, 0.1, 0.05]).astype(np.int8)
    y[0, 3] = 1
    ref = func(y, 40.0, seed=0)
    assert np.array_equal(func(sp.csr_matrix(y), 40.0, seed=0), ref)
    assert np.array_equal(func(y.astype(bool).tolist(), 40.0, seed=0), ref)


@pytest.mark.parametrize("func", ALL)
def test_multiclass_labels_are_one_hot(func: Any) -> None:
    labels = np.array([0] * 8 + [1] * 3 + [5])
    one_hot = np.eye(3, dtype=np.int8)[[0] * 8 + [1] * 3 + [2]]
    assert np.array_equal(func(labels, 50.0, seed=0), func(one_hot, 50.0, seed=0))


@pytest.mark.parametrize("func", ALL)
def test_rows_with_no_label_are_allowed(func: Any) -> None:
    y = np.array([[1, 0]] * 6 + [[0, 1]] + [[0, 0]] * 3, dtype=np.int8)
    out = func(y, 50.0, seed=0)
    assert out.dtype == np.int64 and out.size > 0


def test_exported() -> None:
    import balancers

    for func in ALL:
        assert getattr(balancers, func.__name__) is func
        assert getattr(resample_pkg, func.__name__) is func
        assert func.__name__ in balancers.__all__ and func.__name__ in resample_pkg.__all__


# ---------------------------------------------------------------------------------- bad input
Y = [[1, 0], [1, 1], [1, 0], [0, 1]]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ml_ros(Y, 0.0), ValueError, r"`percentage` should be a finite number > 0"),
        (lambda: ml_ros(Y, -10), ValueError, r"`percentage` should be .* but got percentage=-10"),
        (lambda: ml_ros(Y, float("nan")), ValueError, "`percentage`"),
        (lambda: ml_ros(Y, True), TypeError, "`percentage`"),
        (lambda: ml_ros(Y, "25"), TypeError, "`percentage`"),
        (lambda: lp_ros(Y, 0), ValueError, "`percentage` should be a finite number > 0"),
        (
            lambda: ml_rus(Y, 0.0),
            ValueError,
            r"`percentage` should be a finite number > 0 and < 100",
        ),
        (lambda: ml_rus(Y, 100.0), ValueError, r"< 100, but got percentage=100.0"),
        (lambda: ml_rus(Y, 150), ValueError, "< 100"),
        (lambda: lp_rus(Y, 100), ValueError, "< 100"),
        (lambda: lp_rus(Y, -1.0), ValueError, "> 0"),
        (lambda: ml_ros(Y, seed=-1), ValueError, "`seed` should be a non-negative integer"),
        (lambda: ml_rus(Y, seed=1.5), TypeError, "`seed`"),
        (lambda: ml_ros([[1], [1], [1]]), ValueError, "at least two label columns .* for ml_ros"),
        (lambda: ml_rus(np.ones((4, 1))), ValueError, "at least two label columns .* for ml_rus"),
        (lambda: lp_ros([[1], [1]]), ValueError, "at least two label columns"),
        (lambda: lp_rus([0, 0, 0]), ValueError, "at least two label columns"),
        (lambda: ml_ros([[0, 2], [1, 0]]), ValueError, "0/1 indicator matrix"),
        (lambda: lp_rus([[0.5, 1], [1, 0]]), ValueError, "0/1 indicator matrix"),
        (lambda: ml_ros(np.zeros((2, 2, 2))), ValueError, "3-D"),
        (lambda: ml_ros([]), ValueError, "should not be empty"),
        (lambda: lp_ros("labels"), TypeError, "`labels` should be"),
    ],
)
def test_bad_input(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------------------------- yeast
def test_yeast(test_data_root: Path) -> None:
    y = read_yeast(test_data_root)
    n = y.shape[0]
    before = describe(y).mean_ir
    out = ml_ros(y, 25.0, seed=0)
    assert out[:n].tolist() == list(range(n))
    assert 0 < out.shape[0] - n <= budget(n, 25.0)
    assert describe(y[out]).mean_ir < before
    for func in (ml_rus, lp_ros, lp_rus):
        assert describe(y[func(y, 25.0, seed=0)]).mean_ir < before, func.__name__
    assert n - ml_rus(y, 25.0, seed=0).shape[0] == budget(n, 25.0)
