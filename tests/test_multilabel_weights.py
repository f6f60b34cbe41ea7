"""sample_weights(..., reduce=...) on multilabel rows, rows with no label included."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from balancers import sample_weights

# Rows {0, 1}, {0}, {2}, {}, {}: label counts 2, 1, 1 and a "no label" group of 2.
Y = [[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize(
    ("reduce", "expected"),
    [
        ("max", [1.0, 0.5, 1.0, 0.5, 0.5]),
        ("mean", [0.75, 0.5, 1.0, 0.5, 0.5]),
        ("sum", [1.5, 0.5, 1.0, 0.5, 0.5]),
    ],
)
def test_inverse_by_hand(reduce: str, expected: list[float]) -> None:
    w = sample_weights(Y, "inverse", reduce=reduce)  # type: ignore[arg-type]
    assert w.dtype.is_floating_point and w.dtype.itemsize == 8
    assert w.tolist() == pytest.approx(expected)


def test_other_schemes_by_hand() -> None:
    s = 1 / math.sqrt(2)
    assert sample_weights(Y, "sqrt", reduce="max").tolist() == pytest.approx([1.0, s, 1.0, s, s])
    # balanced: N / (groups * n) with 4 groups (3 labels + "no label") and N = 5
    b2, b1 = 5 / (4 * 2), 5 / (4 * 1)
    assert sample_weights(Y, "balanced", reduce="mean").tolist() == pytest.approx(
        [(b2 + b1) / 2, b2, b1, b2, b2]
    )
    beta = 0.9
    e2, e1 = (1 - beta) / (1 - beta**2), 1.0
    assert sample_weights(Y, "effective", reduce="sum", beta=beta).tolist() == pytest.approx(
        [e2 + e1, e2, e1, e2, e2]
    )


def test_label_without_positives_does_not_matter() -> None:
    with_empty_column = np.hstack([np.array(Y), np.zeros((5, 1), dtype=np.int64)])
    for reduce in ("max", "mean", "sum"):
        assert sample_weights(with_empty_column, reduce=reduce).tolist() == pytest.approx(
            sample_weights(Y, reduce=reduce).tolist()
        )


def test_no_empty_rows_means_no_extra_group() -> None:
    y = [[1, 0], [1, 1], [0, 1], [0, 1]]
    # counts 2 and 3; balanced with 2 groups: 4 / (2 * 2) = 1 and 4 / (2 * 3) = 2/3
    w = sample_weights(y, "balanced", reduce="max").tolist()
    assert w == pytest.approx([1.0, 1.0, 2 / 3, 2 / 3])


def test_all_rows_empty() -> None:
    w = sample_weights(np.zeros((4, 3), dtype=np.int8), "inverse", reduce="mean")
    assert w.tolist() == [0.25] * 4


def test_sparse_and_dense_agree() -> None:
    dense = np.array(Y)
    for reduce in ("max", "mean", "sum"):
        assert (
            sample_weights(sp.csr_array(dense), reduce=reduce).tolist()
            == sample_weights(dense, reduce=reduce).tolist()
        )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 25).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 1), min_size=4, max_size=4), min_size=n, max_size=n
        )
    ),
    st.sampled_from(["inverse", "sqrt", "balanced", "effective"]),
    st.sampled_from(["max", "mean", "sum"]),
)
def test_matches_definition(rows: list[list[int]], scheme: str, reduce: str) -> None:
    y = np.array(rows)
    counts = y.sum(axis=0)
    empty = int((y.sum(axis=1) == 0).sum())
    groups = [int(c) for c in counts if c > 0] + ([empty] if empty else [])

    def weight(n: int) -> float:
        if scheme == "inverse":
            return 1 / n
        if scheme == "sqrt":
            return 1 / math.sqrt(n)
        if scheme == "balanced":
            return len(y) / (len(groups) * n)
        return (1 - 0.999) / (1 - 0.999**n)

    reducer: Any = {"max": max, "sum": sum, "mean": lambda v: sum(v) / len(v)}[reduce]
    expected = []
    for row in rows:
        labels = [j for j, v in enumerate(row) if v]
        expected.append(
            reducer([weight(int(counts[j])) for j in labels]) if labels else weight(empty)
        )
    w = sample_weights(y, scheme, reduce=reduce)  # type: ignore[arg-type]
    assert w.tolist() == pytest.approx(expected, rel=1e-9)
    assert bool((w > 0).all()) and bool(w.isfinite().all())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"reduce": "min"}, ValueError, "`reduce` should be one of 'max', 'mean', 'sum'"),
        ({"reduce": None}, TypeError, "`reduce`"),
        ({"scheme": "log"}, ValueError, "`scheme` should be one of"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        sample_weights(Y, **kwargs)
