"""A resampler or weight scheme that returns its input unchanged says so, naming the parameter
that would make it act (or that none would) with the measured figure; one that acts is silent."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from balancers import lp_ros, lp_rus, ml_ros, ml_rus, random_oversample, random_undersample


def _sparse_labelsets(n: int = 3000, labels: int = 60, seed: int = 0) -> np.ndarray:
    """Sparse multilabel rows: nearly every labelset is distinct (as with 512 sparse labels)."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, labels)) < 0.05).astype(np.int8)


def _one_rare_label() -> np.ndarray:
    y = np.zeros((1000, 3), dtype=np.int8)
    y[:900, 0] = 1
    y[900:, 1] = 1
    y[950:, 2] = 1
    return y


def _silent(func: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return func(*args, **kwargs)


@pytest.mark.parametrize(("func", "verb"), [(lp_ros, "cloned"), (lp_rus, "deleted")])
def test_lp_on_distinct_labelsets_changes_nothing_and_points_to_ml(func: Any, verb: str) -> None:
    y = _sparse_labelsets()  # mean labelset size 1.26: a few labelsets are above it, none below
    with pytest.warns(UserWarning, match=rf"{func.__name__} {verb} \d+ rows") as rec:
        out = func(y, 25.0, seed=0)
    message = str(rec[0].message)
    if func is lp_ros:
        assert out.tolist() == list(range(len(y)))
        assert message.startswith("lp_ros cloned 0 rows: no labelset is a whole row below")
        assert "distinct labelsets in 3000 rows" in message
        assert "no `percentage` makes it act" in message
        assert "use ml_ros" in message
    else:
        assert message.startswith(f"lp_rus {verb} ")
        assert "`percentage` is only a ceiling" in message


def test_lp_ros_budget_of_zero_names_the_percentage_that_acts() -> None:
    y = [[1, 0]] * 6 + [[0, 1]] + [[1, 1]] * 2
    with pytest.warns(UserWarning, match=r"percentage=5 of 9 rows is a budget of 0 rows.*11.1"):
        assert len(lp_ros(y, 5.0)) == 9
    assert len(_silent(lp_ros, y, 12.0)) == 10  # 12% of 9 rows: one clone


def test_ml_ros_percentage_is_only_a_ceiling() -> None:
    y = _one_rare_label()
    with pytest.warns(UserWarning, match=r"ml_ros cloned 47 rows: `percentage` is only a ceiling"):
        p25 = ml_ros(y, 25.0, seed=0)
    with pytest.warns(UserWarning, match=r"percentage=50: at most 500 rows.*MeanIR \(9.33\)"):
        p50 = ml_ros(y, 50.0, seed=0)
    assert p25.tolist() == p50.tolist()  # what the warning says
    assert len(_silent(ml_ros, y, 4.0, seed=0)) == 1040  # the budget is used: silent


def test_ml_ros_without_minority_labels_says_no_percentage_helps() -> None:
    with pytest.warns(UserWarning, match=r"ml_ros cloned 0 rows: no label has IRLbl above MeanIR"):
        assert ml_ros([[1, 0], [0, 1]], 50.0).tolist() == [0, 1]


def test_ml_rus_percentage_is_only_a_ceiling() -> None:
    y = np.zeros((1000, 2), dtype=np.int8)
    y[:, 0] = 1  # the majority label, on every row
    y[:500, 1] = 1  # the minority label protects half the rows: 500 deletable
    with pytest.warns(UserWarning, match=r"ml_rus deleted 500 rows: `percentage` is only a ceil"):
        a = ml_rus(y, 60.0, seed=0)
    with pytest.warns(UserWarning, match=r"percentage=90: at most 900 rows"):
        b = ml_rus(y, 90.0, seed=0)
    assert a.tolist() == b.tolist() == list(range(500))
    assert len(_silent(ml_rus, y, 5.0, seed=0)) == 950


@pytest.mark.parametrize(
    ("func", "strategy", "verb"),
    [
        (random_oversample, "auto", "added"),
        (random_undersample, "auto", "removed"),
        (random_oversample, {0: 3}, "added"),
        (random_undersample, "all", "removed"),
    ],
)
def test_random_resampling_of_balanced_targets_says_so(func: Any, strategy: Any, verb: str) -> None:
    y = [0, 0, 0, 1, 1, 1]
    with pytest.warns(UserWarning, match=rf"{func.__name__} {verb} no sample: .*\{{0: 3, 1: 3\}}"):
        assert sorted(func(y, strategy).tolist()) == list(range(6))
    assert len(_silent(func, [0, 0, 0, 1], "auto")) != 4
