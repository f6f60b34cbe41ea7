"""class_weights, pos_weight and sample_weights: exact values on tiny fixtures."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import nn

from balancers import class_weights, pos_weight, sample_weights

LABELS = [0, 0, 0, 0, 1, 1, 2]  # counts 4, 2, 1


@pytest.mark.parametrize(
    ("scheme", "raw"),
    [
        ("inverse", [1 / 4, 1 / 2, 1.0]),
        ("sqrt", [1 / 2, 1 / math.sqrt(2), 1.0]),
        ("effective", [(1 - 0.9) / (1 - 0.9**4), (1 - 0.9) / (1 - 0.9**2), 1.0]),
        ("balanced", [7 / 12, 7 / 6, 7 / 3]),
    ],
)
def test_class_weight_schemes(scheme: str, raw: list[float]) -> None:
    got = class_weights(LABELS, scheme, beta=0.9, normalize=False)  # type: ignore[arg-type]
    assert got.dtype == torch.float32
    assert got.tolist() == pytest.approx(raw, rel=1e-6)
    normalized = class_weights(LABELS, scheme, beta=0.9)  # type: ignore[arg-type]
    assert normalized.sum().item() == pytest.approx(3.0, rel=1e-6)
    assert normalized.tolist() == pytest.approx((np.array(raw) * 3 / sum(raw)).tolist(), rel=1e-6)


def test_effective_beta_zero_is_uniform_and_close_to_one_is_inverse() -> None:
    with pytest.warns(UserWarning, match=r"beta=0 gives every class the same weight"):
        flat = class_weights(LABELS, "effective", beta=0.0, normalize=False)
    assert flat.tolist() == [1, 1, 1]
    near = class_weights(LABELS, "effective", beta=1 - 1e-9, normalize=False)
    assert near.tolist() == pytest.approx([1 / 4, 1 / 2, 1.0], rel=1e-5)


def test_class_weights_order_and_loss() -> None:
    w = class_weights(["b", "a", "a"], "inverse", normalize=False)
    assert w.tolist() == pytest.approx([0.5, 1.0])  # sorted: "a", "b"
    loss = nn.CrossEntropyLoss(weight=class_weights(LABELS))
    assert torch.isfinite(loss(torch.randn(7, 3), torch.tensor(LABELS)))


def test_multilabel_class_weights_and_zero_column() -> None:
    y = np.array([[1, 0], [1, 1], [1, 0], [0, 0]])
    assert class_weights(y, normalize=False).tolist() == pytest.approx([1 / 3, 1.0])
    with pytest.raises(ValueError, match="no positive sample for label 1"):
        class_weights(np.array([[1, 0], [1, 0]]))


def test_pos_weight() -> None:
    y = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 1]])
    y[:, 2] = [1, 1, 0, 1]
    assert pos_weight(y).tolist() == pytest.approx([3.0, 3.0, 1 / 3])
    assert pos_weight(sp.csr_array(y)).tolist() == pytest.approx([3.0, 3.0, 1 / 3])
    assert pos_weight([0, 1, 1, 1]).tolist() == pytest.approx([1 / 3])  # binary: class 1
    assert pos_weight([0, 1, 2, 2]).tolist() == pytest.approx([3.0, 3.0, 1.0])  # one-vs-rest
    loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight(y))
    assert torch.isfinite(loss(torch.randn(4, 3), torch.tensor(y, dtype=torch.float32)))


def test_pos_weight_label_without_positives_is_named() -> None:
    with pytest.raises(ValueError, match=r"no positive sample for label 2 \(column 2"):
        pos_weight(np.array([[1, 0, 0], [0, 1, 0]]))


def test_sample_weights_multiclass() -> None:
    got = sample_weights(LABELS)
    assert got.dtype == torch.float64
    assert got.tolist() == pytest.approx([0.25] * 4 + [0.5] * 2 + [1.0])


def test_sample_weights_multilabel_reductions_and_empty_rows() -> None:
    # label counts: 3, 1; one row with no label (its own group of size 1)
    y = np.array([[1, 0], [1, 1], [1, 0], [0, 0]])
    assert sample_weights(y, reduce="max").tolist() == pytest.approx([1 / 3, 1.0, 1 / 3, 1.0])
    assert sample_weights(y, reduce="mean").tolist() == pytest.approx([1 / 3, 2 / 3, 1 / 3, 1.0])
    assert sample_weights(y, reduce="sum").tolist() == pytest.approx([1 / 3, 4 / 3, 1 / 3, 1.0])
    # "balanced" counts the no-label group as a class: N / (C * n) with C = 3 groups
    assert sample_weights(y, "balanced").tolist() == pytest.approx([4 / 9, 4 / 3, 4 / 9, 4 / 3])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: class_weights(LABELS, "log"), ValueError, "`scheme` should be one of"),
        (lambda: class_weights(LABELS, 3), TypeError, "`scheme` should be one of"),
        (lambda: class_weights(LABELS, "effective", beta=1.0), ValueError, "`beta`"),
        (lambda: class_weights(LABELS, beta=-0.1), ValueError, "`beta`"),
        (lambda: class_weights(LABELS, normalize=1), TypeError, "`normalize`"),
        (lambda: class_weights([]), ValueError, "should not be empty"),
        (lambda: sample_weights(LABELS, reduce="min"), ValueError, "`reduce` should be one of"),
        (lambda: pos_weight(np.zeros((2, 2, 2))), ValueError, "3-D"),
    ],
)
def test_bad_input(call: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()  # type: ignore[operator]


@pytest.mark.parametrize("function", [class_weights, sample_weights])
def test_effective_beta_that_flattens_unequal_classes_warns_with_a_beta_that_acts(
    function: Any,
) -> None:
    labels = [0] * 19000 + [1] * 105000  # the counts: beta**n is 0 for both
    with pytest.warns(UserWarning, match=r"beta=0.999 gives every class the same weight") as rec:
        function(labels, "effective")
    message = str(rec[0].message)
    assert "class sizes from 19000 to 105000" in message
    suggested = float(message.split("beta=")[2].split(" ")[0])
    assert suggested == pytest.approx(1 - 1 / 105000)
    acting = class_weights(labels, "effective", beta=suggested)
    assert (acting.max() / acting.min()).item() > 3


def test_effective_on_balanced_labels_is_silent() -> None:
    assert class_weights([0, 1, 0, 1], "effective", beta=0.0).tolist() == [1, 1]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([0, 0, 0, 0], r"no positive sample for label 1 \(binary labels, and all are negative"),
        ([False, False], r"no positive sample for label True \(binary"),
        (np.array([[1, 0], [1, 0]]), r"no positive sample for label 1 \(column 1; 1 of 2"),
    ],
)
def test_pos_weight_without_positives_is_an_error_naming_the_label(
    labels: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pos_weight(labels)


def test_pos_weight_power_and_clip() -> None:
    y = np.zeros((100, 2), dtype=np.int8)
    y[:1, 0] = 1  # 1 positive: ratio 99
    y[:50, 1] = 1  # 50 positives: ratio 1
    assert pos_weight(y).tolist() == pytest.approx([99.0, 1.0])
    assert pos_weight(y, power=0.5).tolist() == pytest.approx([99**0.5, 1.0])
    assert pos_weight(y, power=0.0).tolist() == [1.0, 1.0]
    assert pos_weight(y, clip=10).tolist() == pytest.approx([10.0, 1.0])
    assert pos_weight(y, power=0.5, clip=5.0).tolist() == pytest.approx([5.0, 1.0])
    assert pos_weight([1] + [0] * 3, power=0.5).tolist() == pytest.approx([3**0.5])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"power": -0.5},
            ValueError,
            r"`power` should be a finite number >= 0, but got power=-0.5",
        ),
        ({"power": "0.5"}, TypeError, r"`power` should be a finite number"),
        ({"power": True}, TypeError, r"`power`"),
        ({"clip": 0}, ValueError, r"`clip` should be a finite number > 0 or None, but got clip=0"),
        ({"clip": float("inf")}, ValueError, r"`clip`"),
        ({"clip": [1.0]}, TypeError, r"`clip`"),
    ],
)
def test_pos_weight_bad_power_and_clip(kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        pos_weight([0, 1, 1], **kwargs)
