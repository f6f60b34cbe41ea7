"""Focal losses: hand-computed values, gamma=0 equivalence, gradients, reductions, bad input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torchvision.ops import sigmoid_focal_loss

from balancers.losses import BinaryFocalLoss, FocalLoss


def _softmax_focal_by_hand(
    logits: list[list[float]], targets: list[int], gamma: float, alpha: list[float] | None = None
) -> list[float]:
    out = []
    for row, y in zip(logits, targets, strict=True):
        denom = sum(math.exp(v) for v in row)
        p = math.exp(row[y]) / denom
        a = 1.0 if alpha is None else alpha[y]
        out.append(-a * (1 - p) ** gamma * math.log(p))
    return out


LOGITS = [[2.0, 0.0, -1.0], [0.0, 2.0, 0.5], [1.0, 1.0, 1.0], [-3.0, 0.0, 4.0]]
TARGETS = [0, 0, 2, 2]
ALPHA = [0.5, 1.0, 2.0]


class TestFocalLossValues:
    def test_two_class_example_by_hand(self) -> None:
        # p_t = sigmoid(2) = 0.880797 and sigmoid(-2) = 0.119203
        p1, p2 = 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(2))
        expected = (-((1 - p1) ** 2) * math.log(p1) - (1 - p2) ** 2 * math.log(p2)) / 2
        loss = FocalLoss(2.0)(torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0]))
        assert loss.item() == pytest.approx(expected, rel=1e-6)
        assert loss.item() == pytest.approx(0.8259, abs=1e-4)

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
    def test_none_reduction_matches_hand_computation(self, gamma: float) -> None:
        expected = _softmax_focal_by_hand(LOGITS, TARGETS, gamma, ALPHA)
        loss = FocalLoss(gamma, alpha=ALPHA, reduction="none")(
            torch.tensor(LOGITS, dtype=torch.float64), torch.tensor(TARGETS)
        )
        np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)

    def test_mean_is_weighted_by_alpha_and_sum_is_plain(self) -> None:
        per = _softmax_focal_by_hand(LOGITS, TARGETS, 2.0, ALPHA)
        x, y = torch.tensor(LOGITS, dtype=torch.float64), torch.tensor(TARGETS)
        weight_total = sum(ALPHA[t] for t in TARGETS)
        mean = FocalLoss(2.0, alpha=ALPHA)(x, y)
        total = FocalLoss(2.0, alpha=ALPHA, reduction="sum")(x, y)
        assert mean.item() == pytest.approx(sum(per) / weight_total, rel=1e-12)
        assert total.item() == pytest.approx(sum(per), rel=1e-12)

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    @pytest.mark.parametrize("alpha", [None, ALPHA])
    def test_gamma_zero_is_cross_entropy(self, reduction: str, alpha: list[float] | None) -> None:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(32, 3, generator=gen) * 4
        y = torch.randint(0, 3, (32,), generator=gen)
        y[::5] = -100
        weight = None if alpha is None else torch.tensor(alpha)
        expected = F.cross_entropy(x, y, weight=weight, reduction=reduction)
        got = FocalLoss(0.0, alpha=alpha, reduction=reduction)(x, y)
        torch.testing.assert_close(got, expected, rtol=0, atol=0)

    def test_spatial_input_like_cross_entropy(self) -> None:
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(2, 4, 3, 5, generator=gen)
        y = torch.randint(0, 4, (2, 3, 5), generator=gen)
        y[0, 0, 0] = 7
        loss = FocalLoss(0.0, ignore_index=7, reduction="none")(x, y)
        torch.testing.assert_close(loss, F.cross_entropy(x, y, ignore_index=7, reduction="none"))
        assert loss[0, 0, 0].item() == 0.0
        focal = FocalLoss(2.0, ignore_index=7, reduction="none")(
            x.permute(0, 2, 3, 1).reshape(-1, 4), y.ravel()
        )
        flat = FocalLoss(2.0, ignore_index=7, reduction="none")(x, y).ravel()
        torch.testing.assert_close(flat, focal)

    def test_ignore_index_drops_targets_from_sum_and_mean(self) -> None:
        x = torch.tensor(LOGITS, dtype=torch.float64)
        y = torch.tensor([0, -1, 2, -1])
        loss = FocalLoss(2.0, ignore_index=-1)
        kept = FocalLoss(2.0)(x[[0, 2]], torch.tensor([0, 2]))
        assert loss(x, y).item() == pytest.approx(kept.item(), rel=1e-12)
        none = FocalLoss(2.0, ignore_index=-1, reduction="none")(x, y)
        assert none[1].item() == 0.0
        assert none[3].item() == 0.0

    def test_all_ignored_gives_zero_not_nan(self) -> None:
        x = torch.randn(3, 4, requires_grad=True)
        loss = FocalLoss(2.0)(x, torch.full((3,), -100))
        assert loss.item() == 0.0
        loss.backward()
        assert x.grad is not None
        assert torch.equal(x.grad, torch.zeros(3, 4))

    @pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 2.0])
    def test_confident_logits_stay_finite(self, gamma: float) -> None:
        x = torch.tensor([[1e4, -1e4], [-1e4, 1e4], [88.0, -88.0]], requires_grad=True)
        y = torch.tensor([0, 0, 0])
        loss = FocalLoss(gamma, reduction="sum")(x, y)
        loss.backward()
        assert torch.isfinite(loss)
        assert x.grad is not None
        assert torch.isfinite(x.grad).all()
        assert loss.item() == pytest.approx(2e4, rel=1e-6)  # the wrong-class row dominates

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
    def test_gradcheck(self, gamma: float) -> None:
        gen = torch.Generator().manual_seed(2)
        x = torch.randn(6, 4, dtype=torch.float64, generator=gen, requires_grad=True)
        y = torch.tensor([0, 1, 2, 3, -100, 1])
        alpha = torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=torch.float64)
        for reduction in ("mean", "none"):
            loss = FocalLoss(gamma, alpha=alpha, reduction=reduction)
            assert torch.autograd.gradcheck(lambda t, loss=loss: loss(t, y), (x,))

    def test_alpha_is_a_buffer_that_follows_the_module(self) -> None:
        loss = FocalLoss(alpha=[1, 2, 3]).double()
        assert loss.alpha is not None
        assert loss.alpha.dtype == torch.float64
        assert "alpha" in loss.state_dict()
        assert "gamma=2.0" in repr(loss)


@settings(max_examples=30, deadline=None)
@given(
    logits=arrays(np.float64, (5, 3), elements=st.floats(-30, 30)),
    targets=arrays(np.int64, (5,), elements=st.integers(0, 2)),
    gamma=st.floats(0.0, 5.0),
)
def test_focal_is_nonnegative_and_at_most_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, gamma: float
) -> None:
    x, y = torch.from_numpy(logits), torch.from_numpy(targets)
    focal = FocalLoss(gamma, reduction="none")(x, y)
    ce = F.cross_entropy(x, y, reduction="none")
    assert (focal >= 0).all()
    assert (focal <= ce + 1e-12).all()
    larger = FocalLoss(gamma + 1.0, reduction="none")(x, y)
    assert (larger <= focal + 1e-12).all()


class TestBinaryFocalLoss:
    @pytest.mark.parametrize("alpha", [None, 0.25, 0.9])
    @pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0])
    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_matches_torchvision(self, alpha: float | None, gamma: float, reduction: str) -> None:
        gen = torch.Generator().manual_seed(3)
        x = torch.randn(8, 5, generator=gen, dtype=torch.float64) * 3
        t = (torch.rand(8, 5, generator=gen) > 0.7).double()
        expected = sigmoid_focal_loss(
            x, t, alpha=-1 if alpha is None else alpha, gamma=gamma, reduction=reduction
        )
        got = BinaryFocalLoss(gamma, alpha=alpha, reduction=reduction)(x, t)
        torch.testing.assert_close(got, expected)

    def test_values_by_hand(self) -> None:
        x = [[3.0, -1.0], [0.5, 0.0]]
        t = [[1.0, 0.0], [0.0, 1.0]]
        expected = []
        for z, y in [(3.0, 1.0), (-1.0, 0.0), (0.5, 0.0), (0.0, 1.0)]:
            p = 1 / (1 + math.exp(-z))
            pt = p if y else 1 - p
            w = 3.0 if y else 1.0  # pos_weight
            a = 0.25 if y else 0.75
            expected.append(-a * w * (1 - pt) ** 2 * math.log(pt))
        got = BinaryFocalLoss(2.0, alpha=0.25, pos_weight=3.0, reduction="none")(
            torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
        )
        np.testing.assert_allclose(got.ravel().numpy(), expected, rtol=1e-12)

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_gamma_zero_is_bce_with_pos_weight(self, reduction: str) -> None:
        gen = torch.Generator().manual_seed(4)
        x = torch.randn(16, 3, generator=gen) * 5
        t = (torch.rand(16, 3, generator=gen) > 0.5).float()
        pw = torch.tensor([1.0, 4.0, 0.5])
        expected = F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction=reduction)
        got = BinaryFocalLoss(0.0, pos_weight=pw, reduction=reduction)(x, t)
        torch.testing.assert_close(got, expected, rtol=0, atol=0)

    def test_per_label_alpha(self) -> None:
        x = torch.tensor([[0.3, -0.2], [1.0, 2.0]], dtype=torch.float64)
        t = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
        got = BinaryFocalLoss(2.0, alpha=[0.25, 0.75], reduction="none")(x, t)
        col0 = BinaryFocalLoss(2.0, alpha=0.25, reduction="none")(x, t)[:, 0]
        col1 = BinaryFocalLoss(2.0, alpha=0.75, reduction="none")(x, t)[:, 1]
        torch.testing.assert_close(got, torch.stack([col0, col1], dim=1))

    @pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
    def test_gradcheck_and_extreme_logits(self, gamma: float) -> None:
        gen = torch.Generator().manual_seed(5)
        x = torch.randn(4, 3, dtype=torch.float64, generator=gen, requires_grad=True)
        t = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
        loss = BinaryFocalLoss(gamma, alpha=0.25, pos_weight=[1.0, 2.0, 3.0])
        assert torch.autograd.gradcheck(lambda z: loss(z, t.double()), (x,))
        big = torch.tensor([[1e4, -1e4, 200.0]], requires_grad=True)
        value = BinaryFocalLoss(gamma, reduction="sum")(big, torch.tensor([[1.0, 0.0, 0.0]]))
        value.backward()
        assert torch.isfinite(value)
        assert big.grad is not None
        assert torch.isfinite(big.grad).all()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: FocalLoss(-1.0), ValueError, r"`gamma` should be a finite number >= 0"),
        (lambda: FocalLoss(float("nan")), ValueError, r"`gamma` should be a finite number"),
        (lambda: FocalLoss("2"), TypeError, r"`gamma` should be a finite number"),
        (lambda: FocalLoss(True), TypeError, r"`gamma` should be"),
        (lambda: FocalLoss(reduction="avg"), ValueError, r"`reduction` should be one of 'mean'"),
        (lambda: FocalLoss(ignore_index=1.5), TypeError, r"`ignore_index` should be an integer"),
        (lambda: FocalLoss(alpha=[1.0, -1.0]), ValueError, r"`alpha` should hold finite non-neg"),
        (lambda: FocalLoss(alpha=[1.0, float("inf")]), ValueError, r"`alpha` should hold finite"),
        (lambda: FocalLoss(alpha=2.0), ValueError, r"`alpha` should be a 1-D sequence"),
        (lambda: FocalLoss(alpha=[[1.0, 2.0]]), ValueError, r"`alpha` should be a 1-D sequence"),
        (lambda: FocalLoss(alpha="ab"), TypeError, r"`alpha` should be a 1-D sequence"),
        (
            lambda: BinaryFocalLoss(alpha=1.5),
            ValueError,
            r"`alpha` should hold numbers in \[0, 1\]",
        ),
        (lambda: BinaryFocalLoss(alpha=True), TypeError, r"`alpha` should be a number"),
        (lambda: BinaryFocalLoss(pos_weight=-2.0), ValueError, r"`pos_weight` should hold finite"),
        (lambda: BinaryFocalLoss(reduction=None), TypeError, r"`reduction` should be one of"),
    ],
)
def test_bad_construction(make: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        make()


X3 = torch.zeros(4, 3)
Y3 = torch.tensor([0, 1, 2, 0])


@pytest.mark.parametrize(
    ("loss", "args", "error", "message"),
    [
        (FocalLoss(), ([[0.0, 1.0]], torch.tensor([0])), TypeError, r"`input` should be a tensor"),
        (FocalLoss(), (torch.zeros(2, 3, dtype=torch.long), Y3[:2]), TypeError, r"floating-point"),
        (FocalLoss(), (X3, Y3.float()), TypeError, r"`target` should hold integer class indices"),
        (FocalLoss(), (X3, [0, 1, 2, 0]), TypeError, r"`target` should be a tensor"),
        (FocalLoss(), (torch.zeros(3), Y3[:3]), ValueError, r"`input` should have shape \(N, C\)"),
        (FocalLoss(), (X3, Y3[:3]), ValueError, r"`target` should have shape \(4,\)"),
        (FocalLoss(), (X3, torch.tensor([0, 1, 3, 0])), ValueError, r"in \[0, 2\].*value 3"),
        (FocalLoss(), (X3, torch.tensor([0, -1, 2, 0])), ValueError, r"ignore_index=-100"),
        (FocalLoss(alpha=[1, 2]), (X3, Y3), ValueError, r"one weight per class \(3\)"),
        (BinaryFocalLoss(), (X3, torch.zeros(4, 2)), ValueError, r"`target` should have the shape"),
        (BinaryFocalLoss(), (X3, "y"), TypeError, r"`target` should be a tensor of 0/1"),
        (BinaryFocalLoss(pos_weight=[1, 2]), (X3, X3), ValueError, r"`pos_weight`.*label \(3"),
        (BinaryFocalLoss(alpha=[0.1, 0.2]), (X3, X3), ValueError, r"`alpha` .* per label"),
    ],
)  # fmt: skip
def test_bad_call(loss: Any, args: tuple[Any, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        loss(*args)
