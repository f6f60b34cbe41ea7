"""class_weights, pos_weight and sample_weights: exact values on tiny fixtures."""

from __future__ import annotations

import math

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
    assert class_weights(LABELS, "effective", beta=0.0, normalize=False).tolist() == [1, 1, 1]
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
