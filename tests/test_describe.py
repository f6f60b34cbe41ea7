"""describe() and ImbalanceReport: hand-computed measures, yeast, labelsets, rendering."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.utils.data import TensorDataset

from balancers import ImbalanceReport, describe
from balancers._imbalance_measures import irlbl, labelsets, multilabel_measures

# Rows: {0,1}, {0}, {0,2}, {} -> counts [3, 1, 1].
TINY = [[1, 1, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0]]


def read_yeast(root: Path) -> np.ndarray:
    with gzip.open(root / "yeast" / "yeast.csv.gz", "rt") as fh:
        header = fh.readline().strip().split(",")
        data = np.loadtxt(fh, delimiter=",")
    cols = [i for i, name in enumerate(header) if name.startswith("Class")]
    return data[:, cols].astype(np.int8)


# ------------------------------------------------------------------------------ hand-computed
def test_multilabel_measures_by_hand() -> None:
    r = describe(TINY)
    assert r.kind == "multilabel"
    assert r.counts == [3, 1, 1]
    assert r.irlbl == [1.0, 3.0, 3.0]
    assert r.mean_ir == pytest.approx(7 / 3)
    assert r.max_ir == 3.0
    assert r.imbalance_ratio == 3.0
    # sample std of (1, 3, 3) is sqrt(4/3); divided by MeanIR 7/3
    assert r.cvir == pytest.approx(math.sqrt(4 / 3) / (7 / 3))
    # rows {0,1} and {0,2}: 1 - sqrt(1*3)/2 each; rows with < 2 labels give 0
    assert r.scumble == pytest.approx(2 * (1 - math.sqrt(3) / 2) / 4)
    assert r.cardinality == 1.25
    assert r.density == pytest.approx(1.25 / 3)
    assert r.n_labelsets == 4
    assert r.n_empty_rows == 1


def test_scumble_rows_by_hand() -> None:
    # IRLbl = [1, 2, 4]; row {0,1,2}: geometric mean 2, arithmetic 7/3.
    y = sp.csr_array(np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]]))
    m = multilabel_measures(y, np.array([4, 2, 1]))
    assert m.irlbl.tolist() == [1.0, 2.0, 4.0]
    expected = [1 - 2 / (7 / 3), 1 - math.sqrt(2) / 1.5, 0.0, 0.0]
    np.testing.assert_allclose(m.scumble_rows, expected)
    assert m.scumble == pytest.approx(sum(expected) / 4)


def test_label_without_positives_is_left_out() -> None:
    r = describe([[1, 0, 0], [1, 1, 0], [1, 0, 0]])
    assert r.irlbl == [1.0, 3.0, math.inf]
    assert r.mean_ir == 2.0 and r.max_ir == 3.0
    d = r.to_dict()
    assert d["irlbl"] == [1.0, 3.0, None]
    json.dumps(d, allow_nan=False)


def test_single_label_column_gives_finite_measures() -> None:
    r = describe(np.ones((5, 1), dtype=np.int8))
    assert r.irlbl == [1.0] and r.mean_ir == 1.0 and r.cvir == 0.0
    assert r.scumble == 0.0 and r.n_labelsets == 1


def test_all_rows_empty() -> None:
    r = describe(np.zeros((3, 2), dtype=np.int8))
    assert r.n_empty_rows == 3 and r.n_labelsets == 1
    assert r.irlbl == [math.inf, math.inf]
    assert r.mean_ir == 0.0 and r.cardinality == 0.0
    json.dumps(r.to_dict(), allow_nan=False)


def test_multiclass_report() -> None:
    r = describe(np.array([3, 3, 7, 42, 42, 42]))
    assert r.kind == "multiclass"
    assert r.classes == [3, 7, 42]
    assert r.counts == [2, 1, 3]
    assert r.shares == pytest.approx([2 / 6, 1 / 6, 3 / 6])
    assert r.imbalance_ratio == 3.0
    assert r.measures == {}
    with pytest.raises(AttributeError, match="only defined for multilabel"):
        _ = r.mean_ir
    assert json.loads(json.dumps(r.to_dict()))["counts"] == [2, 1, 3]


def test_string_classes_and_dataset_input() -> None:
    assert describe(["cat", "dog", "dog"]).classes == ["cat", "dog"]
    ds = TensorDataset(torch.zeros(4, 1), torch.tensor([[1, 0], [1, 1], [0, 1], [1, 0]]))
    r = describe(ds)
    assert r.kind == "multilabel" and r.counts == [3, 2]


def test_forms_agree() -> None:
    dense = np.array(TINY)
    reports = [describe(dense), describe(sp.csr_matrix(dense)), describe(torch.tensor(dense))]
    assert all(r.to_dict() == reports[0].to_dict() for r in reports)


# ---------------------------------------------------------------------------------- rendering
def test_str_is_an_aligned_table() -> None:
    text = str(describe(TINY))
    lines = text.splitlines()
    assert lines[0] == "multilabel labels: 4 samples, 3 labels"
    table = lines[1:5]
    assert table[0].split() == ["label", "count", "share", "IRLbl"]
    assert len({len(line) for line in table}) == 1  # right-aligned columns
    assert table[2].split() == ["1", "1", "25.00%", "3.00"]
    summary = lines[5:]
    value_columns = {len(line) - len(line.split()[-1]) for line in summary}
    assert len(value_columns) == 1  # values start in the same column
    assert "MeanIR:" in text and "2.3333" in text and "rows with no label:" in text


def test_str_multiclass() -> None:
    text = str(describe([0, 0, 0, 1]))
    assert text.splitlines()[0] == "multiclass labels: 4 samples, 2 classes"
    assert "imbalance ratio (max/min): 3.00" in text
    assert "IRLbl" not in text


def test_plot_returns_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = describe(TINY).plot()
    try:
        assert isinstance(fig, Figure)
        ax, ax2 = fig.axes
        assert ax.get_yscale() == "log" and ax2.get_yscale() == "log"
        assert [p.get_height() for p in ax.patches] == [3, 1, 1]
        assert ax2.lines[0].get_ydata().tolist() == [1.0, 3.0, 3.0]
    finally:
        plt.close(fig)
    fig = describe([0, 1, 1]).plot()
    try:
        assert len(fig.axes) == 1
    finally:
        plt.close(fig)


def test_report_is_frozen() -> None:
    r = describe([0, 1])
    assert isinstance(r, ImbalanceReport)
    with pytest.raises(AttributeError):
        r.n_samples = 3  # type: ignore[misc]


# ---------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ("abc", TypeError, "`labels` should be"),
        ([], ValueError, "should not be empty"),
        (np.zeros((2, 2, 2)), ValueError, "3-D"),
        ([[0, 2], [1, 0]], ValueError, "0/1 indicator matrix"),
        ([[0.5, 1.0]], ValueError, "0/1 indicator matrix"),
        (None, TypeError, "`labels` should be"),
    ],
)
def test_bad_labels(labels: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        describe(labels)


# ---------------------------------------------------------------------------------- labelsets
def _reference_labelsets(dense: np.ndarray) -> np.ndarray:
    seen: dict[tuple[int, ...], int] = {}
    return np.array([seen.setdefault(tuple(row), len(seen)) for row in dense.tolist()])


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.int8,
        st.tuples(st.integers(1, 30), st.integers(1, 40)),
        elements=st.sampled_from([0, 0, 0, 1]),
    )
)
def test_labelsets_match_reference(dense: np.ndarray) -> None:
    groups = labelsets(sp.csr_array(dense))
    expected = _reference_labelsets(dense)
    assert groups.codes.tolist() == expected.tolist()
    assert groups.counts.tolist() == np.bincount(expected).tolist()
    for s in range(groups.n_sets):
        rows = groups.members[groups.starts[s] : groups.starts[s + 1]]
        assert rows.tolist() == np.flatnonzero(expected == s).tolist()


def test_labelsets_padded_encoding() -> None:
    # Many columns, few labels per row: the padded-index encoding is the narrower one.
    rng = np.random.default_rng(0)
    dense = np.zeros((200, 500), dtype=np.int8)
    dense[np.arange(200), rng.integers(0, 500, 200)] = 1
    dense[::3, 7] = 1
    dense[5] = dense[6]
    groups = labelsets(sp.csr_array(dense))
    assert groups.codes.tolist() == _reference_labelsets(dense).tolist()


def test_irlbl_values() -> None:
    assert irlbl(np.array([8, 2, 4, 0])).tolist() == [1.0, 4.0, 2.0, math.inf]


# ------------------------------------------------------------------------------------- yeast
def _direct_measures(y: np.ndarray) -> dict[str, float]:
    """Straight from the definitions, with Python loops over labels and rows."""
    n, n_labels = y.shape
    counts = [int(y[:, j].sum()) for j in range(n_labels)]
    ir = [max(counts) / c for c in counts]
    mean_ir = sum(ir) / n_labels
    sd = math.sqrt(sum((v - mean_ir) ** 2 for v in ir) / (n_labels - 1))
    row_scumble = []
    for row in y.tolist():
        vals = [ir[j] for j in range(n_labels) if row[j]]
        if len(vals) < 2:
            row_scumble.append(0.0)
            continue
        geo = math.prod(vals) ** (1 / len(vals))
        row_scumble.append(1 - geo / (sum(vals) / len(vals)))
    card = float(y.sum()) / n
    return {
        "mean_ir": mean_ir,
        "max_ir": max(ir),
        "cvir": sd / mean_ir,
        "scumble": sum(row_scumble) / n,
        "cardinality": card,
        "density": card / n_labels,
        "n_labelsets": len({tuple(r) for r in y.tolist()}),
    }


def test_yeast_measures(test_data_root: Path) -> None:
    y = read_yeast(test_data_root)
    assert y.shape == (2417, 14)
    r = describe(y)
    direct = _direct_measures(y)
    for key, value in direct.items():
        assert getattr(r, key) == pytest.approx(value, rel=1e-12), key
    # Published values for yeast (Charte et al. 2015; SCUMBLE: Charte et al. 2014).
    assert r.max_ir == pytest.approx(53.4118, abs=1e-4)
    assert r.mean_ir == pytest.approx(7.1968, abs=1e-4)
    assert r.cvir == pytest.approx(1.8838, abs=1e-4)
    assert r.scumble == pytest.approx(0.104, abs=1e-3)
    assert r.n_labelsets == 198
    assert r.n_empty_rows == 0
    assert min(r.counts) == 34 and max(r.counts) == 1816
