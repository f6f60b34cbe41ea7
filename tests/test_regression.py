"""Imbalanced regression: LDS weights (exact hand-computed values per kernel, the paper's
recipe), the continuous describe, regression_report, and every bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import convolve1d
from scipy.signal.windows import triang
from scipy.stats import gmean
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, mean_squared_error

from balancers import WeightedSampler, describe_targets, regression_weights
from balancers._regression import lds_window, smoothed_density
from balancers.metrics import regression_report

# y in 4 bins of width 0.75 over [0, 3]: counts [4, 1, 0, 1], square roots [2, 1, 0, 1].
Y = [0.0, 0.0, 0.0, 0.0, 1.0, 3.0]


def _normalised(raw: list[float]) -> list[float]:
    return [x * len(raw) / sum(raw) for x in raw]


def _expected(bin0: float, bin1: float, bin3: float) -> list[float]:
    return _normalised([1 / bin0] * 4 + [1 / bin1, 1 / bin3])


BAD_BINS: Any = 2.5
BAD_EDGES: Any = "auto"
E1, E2, E05 = math.exp(-1), math.exp(-2), math.exp(-0.5)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # window exp(-x^2/2) = [e^-2, e^-.5, 1, e^-.5, e^-2]
        ({"kernel": "gaussian", "sigma": 1.0}, _expected(2 + E05, 1 + 2 * E05 + E2, 1 + E2)),
        # window exp(-|x|) = [e^-2, e^-1, 1, e^-1, e^-2]
        ({"kernel": "laplace", "sigma": 1.0}, _expected(2 + E1, 1 + 2 * E1 + E2, 1 + E2)),
        # window [1/3, 2/3, 1, 2/3, 1/3]: densities 8/3, 8/3, 4/3
        ({"kernel": "triangular"}, [6 / 7] * 5 + [12 / 7]),
        # counts, not roots: densities 14/3, 4, 4/3
        ({"kernel": "triangular", "scheme": "inverse"}, [9 / 13] * 4 + [21 / 26, 63 / 26]),
    ],
)
def test_hand_computed_weights(kwargs: dict[str, Any], expected: list[float]) -> None:
    w = regression_weights(Y, bins=4, **kwargs)
    assert w.dtype == torch.float64 and w.shape == (6,)
    assert w.tolist() == pytest.approx(expected, rel=1e-12)
    assert float(w.mean()) == pytest.approx(1.0, rel=1e-12)


def test_windows() -> None:
    assert lds_window("triangular", 5, 2.0).tolist() == pytest.approx(triang(5).tolist())
    assert lds_window("triangular", 7, 2.0).tolist() == pytest.approx(triang(7).tolist())
    assert lds_window("gaussian", 3, 2.0).tolist() == pytest.approx(
        [math.exp(-1 / 8), 1.0, math.exp(-1 / 8)]
    )
    assert lds_window("laplace", 3, 2.0).tolist() == pytest.approx([E05, 1.0, E05])


def test_matches_the_papers_recipe_on_diabetes() -> None:
    """One bin per integer (edges 0, 1, ..., max + 1), square-rooted counts convolved by scipy's
    convolve1d(mode="constant") with triang(5), 1 / density, scaled to mean 1 (Yang et al.)."""
    y = load_diabetes().target  # integers 25..346
    max_target = int(y.max()) + 1
    w = regression_weights(y, bins=np.arange(max_target + 1), kernel="triangular").numpy()
    label = np.minimum(y.astype(int), max_target - 1)
    counts = np.bincount(label, minlength=max_target)
    smoothed = convolve1d(np.sqrt(counts), weights=triang(5), mode="constant")
    raw = 1 / smoothed[label]
    assert w == pytest.approx(raw * len(raw) / raw.sum(), rel=1e-12)


def test_edges_and_equal_width_bins_agree() -> None:
    y = load_diabetes().target
    edges = np.linspace(y.min(), y.max(), 31)
    assert regression_weights(y, bins=30).tolist() == regression_weights(y, bins=edges).tolist()
    outside = regression_weights([-5.0, 0.5, 20.0], bins=[0.0, 1.0, 2.0], kernel="laplace")
    assert outside[0] == outside[1] != outside[2]  # ends collect the values outside the edges


def test_constant_target_is_a_single_bin() -> None:
    density, edges = smoothed_density([5.0] * 10, bins=50)
    assert density.tolist() == pytest.approx([math.sqrt(10)])
    assert edges.tolist() == [5.0, 5.0]
    assert regression_weights([5.0] * 10, bins=50).tolist() == [1.0] * 10
    report = describe_targets([5.0] * 10, bins=50)
    assert report.counts == [10] and report.region_samples == {"many": 0, "medium": 0, "few": 10}


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.integers(1, 120),
    st.sampled_from(["gaussian", "triangular", "laplace"]),
    st.sampled_from(["inverse", "sqrt_inverse"]),
)
def test_weights_finite_positive_mean_one(
    y: list[float], bins: int, kernel: str, scheme: str
) -> None:
    w = regression_weights(y, bins=bins, kernel=kernel, scheme=scheme)
    assert w.shape == (len(y),)
    assert torch.isfinite(w).all() and (w > 0).all()
    assert float(w.mean()) == pytest.approx(1.0, rel=1e-9)
    # equal targets share a bin, hence a weight
    values, inverse = np.unique(np.asarray(y), return_inverse=True)
    for v in range(values.shape[0]):
        assert np.ptp(w.numpy()[inverse.reshape(-1) == v]) == 0


def test_rare_targets_weigh_more_and_drive_a_sampler() -> None:
    y = np.concatenate([np.full(900, 1.0), np.full(90, 5.0), np.full(10, 9.0)])
    w = regression_weights(y, bins=9, kernel="gaussian", sigma=1.0)
    assert w[0] < w[900] < w[-1]
    drawn = np.fromiter(WeightedSampler(w, num_samples=20_000, seed=0), dtype=np.int64)
    share = np.bincount((y[drawn] > 3).astype(int) + (y[drawn] > 7).astype(int)) / 20_000
    # bins 4 apart do not overlap: shares are sqrt(n_bin) / sum of sqrt(n_bin)
    roots = np.sqrt([900, 90, 10])
    assert share == pytest.approx(roots / roots.sum(), abs=0.01)  # 1% of the data, 7% of draws
    loss = (w * (torch.zeros(1000, dtype=torch.float64) - torch.from_numpy(y)) ** 2).mean()
    assert torch.isfinite(loss)


def test_describe_targets_on_diabetes() -> None:
    y = load_diabetes().target
    report = describe_targets(y, bins=10)
    assert sum(report.counts) == 442 and len(report.edges) == 11
    assert sum(report.region_samples.values()) == 442
    assert sum(report.region_bins.values()) == 10
    for count, region in zip(report.counts, report.regions, strict=True):
        assert region == ("many" if count > 100 else "few" if count < 20 else "medium")
    assert "many" in str(report) and report.to_dict()["n_samples"] == 442
    import matplotlib

    matplotlib.use("Agg")
    figure = report.plot()
    assert len(figure.axes[0].patches) == 10
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_regression_report_matches_scikit_learn_and_regions() -> None:
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(0, 1, 5000), rng.uniform(4, 6, 30)])
    y_true = np.concatenate([rng.normal(0, 1, 300), rng.uniform(4, 6, 20)])
    y_pred = y_true + rng.normal(0, 0.5, y_true.shape[0])
    report = regression_report(y_true, y_pred, train_targets=train, bins=50)
    assert report.mae == pytest.approx(mean_absolute_error(y_true, y_pred), rel=1e-12)
    assert report.mse == pytest.approx(mean_squared_error(y_true, y_pred), rel=1e-12)
    assert report.gmean == pytest.approx(gmean(np.abs(y_true - y_pred)), rel=1e-9)
    counts = np.bincount(
        np.minimum(((train - train.min()) * 50 / np.ptp(train)).astype(int), 49), minlength=50
    )
    test_bin = np.clip(((y_true - train.min()) * 50 / np.ptp(train)).astype(int), 0, 49)
    for name, mask in [
        ("many", counts[test_bin] > 100),
        ("medium", (counts[test_bin] >= 20) & (counts[test_bin] <= 100)),
        ("few", counts[test_bin] < 20),
    ]:
        assert report.regions[name]["n"] == int(mask.sum())
        if mask.any():
            assert report.regions[name]["mae"] == pytest.approx(
                np.abs(y_true - y_pred)[mask].mean()
            )
    assert int(report.regions["few"]["n"] or 0) >= 20  # the uniform tail
    assert sum(int(r["n"] or 0) for r in report.regions.values()) == 320
    assert "few-shot" in str(report) and report.to_dict()["regions"]["many"]["n"] > 0
    plain = regression_report([1.0, 2.0], [1.0, 3.0])
    assert plain.regions == {} and plain.gmean == 0.0 and plain.mae == 0.5


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: regression_weights([1.0, np.nan]), ValueError, r"`y` should hold finite"),
        (lambda: regression_weights([1.0, np.inf]), ValueError, r"`y` should hold finite"),
        (lambda: regression_weights([]), ValueError, "`y` should hold at least one target"),
        (lambda: regression_weights(np.ones((3, 2))), ValueError, "`y` should be a 1-D array"),
        (lambda: regression_weights(["a", "b"]), TypeError, "`y` should hold real-valued"),
        (lambda: regression_weights([1.0, 2.0], bins=0), ValueError, "`bins` should be"),
        (lambda: regression_weights([1.0, 2.0], bins=BAD_BINS), TypeError, "`bins` should be"),
        (lambda: regression_weights([1.0], bins=[1.0]), ValueError, "`bins` as edges should"),
        (lambda: regression_weights([1.0], bins=[2.0, 1.0]), ValueError, "`bins` as edges"),
        (lambda: regression_weights([1.0], bins=BAD_EDGES), TypeError, "`bins` should be a number"),
        (lambda: regression_weights([1.0, 2.0], sigma=0), ValueError, "`sigma` should be"),
        (lambda: regression_weights([1.0, 2.0], sigma=-1.0), ValueError, "`sigma` should be"),
        (lambda: regression_weights([1.0, 2.0], kernel="box"), ValueError, "`kernel` should be"),
        (lambda: regression_weights([1.0, 2.0], scheme="log"), ValueError, "`scheme` should be"),
        (lambda: regression_weights([1.0, 2.0], ks=4), ValueError, "`ks` should be an odd"),
        (lambda: describe_targets([1.0], few=200), ValueError, "`few` should be at most `many`"),
        (lambda: describe_targets([1.0, np.nan]), ValueError, r"`y` should hold finite"),
        (
            lambda: regression_report([1.0, 2.0], [1.0]),
            ValueError,
            r"`y_pred` should have one prediction per target \(2\)",
        ),
        (lambda: regression_report([1.0], [np.nan]), ValueError, "`y_pred` should hold finite"),
        (
            lambda: regression_report([1.0], [1.0], train_targets=[np.inf]),
            ValueError,
            "`train_targets` should hold finite",
        ),
        (lambda: regression_report([1.0], [1.0], bins=0), ValueError, "`bins` should be"),
    ],
)
def test_errors(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
