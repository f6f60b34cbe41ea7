"""long_tail_counts: exact tables for every profile, invariants, bad input."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from balancers.datasets import long_tail_counts

# The CIFAR-10-LT / CIFAR-100-LT tables of Cao et al. 2019 and Cui et al. 2019.
CIFAR10_LT_100 = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((5000, 10, 100), {}, CIFAR10_LT_100),
        ((5000, 10, 100, "exp"), {}, CIFAR10_LT_100),
        # 1000 * 4**(-i/2): 1000, 500, 250
        ((1000, 3, 4), {}, [1000, 500, 250]),
        # 100 * 10**(-i/4) = 100, 56.23, 31.62, 17.78, 10
        ((100, 5, 10), {}, [100, 56, 31, 17, 10]),
        ((7, 3, 1), {}, [7, 7, 7]),
        ((9, 1, 100), {}, [9]),
        # step: the last round(C * fraction) classes get int(n_max / ratio)
        ((1000, 4, 10, "step"), {}, [1000, 1000, 100, 100]),
        ((1000, 5, 10, "step"), {}, [1000, 1000, 1000, 100, 100]),  # round(2.5) == 2
        ((1000, 10, 10, "step"), {"minority_fraction": 0.3}, [1000] * 7 + [100] * 3),
        ((1000, 4, 10, "step"), {"minority_fraction": 0.0}, [1000] * 4),
        ((1000, 4, 3, "step"), {"minority_fraction": 1.0}, [333] * 4),
        ((49, 2, 49, "step"), {}, [49, 1]),  # exact: 49 / 49 == 1
        # linear: n_max - (n_max - n_max/ratio) * i / (C - 1)
        ((1000, 4, 10, "linear"), {}, [1000, 700, 400, 100]),
        ((100, 3, 4, "linear"), {}, [100, 62, 25]),
        ((10, 4, 3, "linear"), {}, [10, 7, 5, 3]),  # 10, 7.78, 5.56, 3.33
        ((49, 2, 49, "linear"), {}, [49, 1]),
    ],
)
def test_exact_counts(args: tuple[Any, ...], kwargs: dict[str, Any], expected: list[int]) -> None:
    assert long_tail_counts(*args, **kwargs) == expected


@pytest.mark.parametrize(
    ("n_max", "num_classes", "ratio", "total"),
    [
        (5000, 10, 100, 12406),  # CIFAR-10-LT, ratio 100
        (5000, 10, 10, 20431),  # CIFAR-10-LT, ratio 10
        (500, 100, 100, 10847),  # CIFAR-100-LT, ratio 100
        (500, 100, 10, 19573),  # CIFAR-100-LT, ratio 10
    ],
)
def test_published_cifar_lt_sizes(n_max: int, num_classes: int, ratio: int, total: int) -> None:
    counts = long_tail_counts(n_max, num_classes, ratio)
    assert sum(counts) == total
    assert counts[0] == n_max
    assert counts[-1] == n_max // ratio


def test_ldam_float_expression() -> None:
    # LDAM-DRW evaluates img_max * imb_factor ** (i / (C - 1.0)) with imb_factor = 1 / ratio.
    for ratio in (10, 50, 100, 200):
        expected = [int(500 * (1 / ratio) ** (i / 99.0)) for i in range(100)]
        assert long_tail_counts(500, 100, ratio) == expected


@settings(max_examples=60, deadline=None)
@given(
    n_max=st.integers(1, 10_000),
    num_classes=st.integers(2, 120),
    ratio=st.floats(1.0, 50.0),
    profile=st.sampled_from(["exp", "step", "linear"]),
    fraction=st.floats(0.0, 1.0),
)
def test_invariants(
    n_max: int, num_classes: int, ratio: float, profile: str, fraction: float
) -> None:
    if n_max / ratio < 1.001:
        return  # would empty the last class: an error, tested below
    counts = long_tail_counts(n_max, num_classes, ratio, profile, minority_fraction=fraction)
    assert len(counts) == num_classes
    assert all(isinstance(c, int) for c in counts)
    assert counts[0] == n_max or (
        profile == "step" and round(num_classes * fraction) == num_classes
    )
    assert all(a >= b for a, b in itertools.pairwise(counts))
    assert counts[-1] >= 1
    # the smallest class is n_max / ratio, rounded down (the float expression may lose one)
    if profile != "step" or round(num_classes * fraction) > 0:
        assert math.floor(n_max / ratio) - 1 <= counts[-1] <= math.floor(n_max / ratio)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"imbalance_ratio": 0.5}, ValueError, r"`imbalance_ratio` should be a finite number >= 1"),
        ({"imbalance_ratio": float("nan")}, ValueError, r"`imbalance_ratio` should be"),
        ({"imbalance_ratio": "100"}, TypeError, r"`imbalance_ratio` should be a finite number"),
        ({"imbalance_ratio": True}, TypeError, r"`imbalance_ratio`"),
        ({"profile": "log"}, ValueError, r"`profile` should be one of 'exp', 'step', 'linear'"),
        ({"profile": None}, TypeError, r"`profile` should be one of"),
        ({"n_max": 0}, ValueError, r"`n_max` should be a positive integer, but got n_max=0"),
        ({"n_max": 10.0}, TypeError, r"`n_max` should be a positive integer"),
        ({"num_classes": 0}, ValueError, r"`num_classes` should be a positive integer"),
        ({"num_classes": True}, TypeError, r"`num_classes`"),
        ({"minority_fraction": 1.5}, ValueError, r"`minority_fraction` should be a finite number"),
        (
            {"n_max": 50, "imbalance_ratio": 100},
            ValueError,
            r"`imbalance_ratio` should be at most n_max=50 .* last class 0 samples",
        ),
        (
            {"n_max": 50, "imbalance_ratio": 100, "profile": "step"},
            ValueError,
            r"`imbalance_ratio` should be at most n_max=50",
        ),
    ],
)
def test_bad_input(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"n_max": 1000, "num_classes": 10, "imbalance_ratio": 10}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        long_tail_counts(**args)
