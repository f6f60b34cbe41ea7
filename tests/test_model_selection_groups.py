"""Grouped iterative stratification: whole groups per fold, quality on ChestX-ray14 patients,
invariants, mixed targets, group figures of the report, errors."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score

from balancers import (
    IterativeStratifiedGroupKFold,
    IterativeStratifiedKFold,
    bin_continuous,
    iterative_train_test_split,
    stratification_report,
    stratification_targets,
)

# ----------------------------------------------------------------------------- ChestX-ray14


def load_chestxray14(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Findings (n x 15, 0/1), patient ids, ages and sexes of the NIH ChestX-ray14 metadata."""
    pd = pytest.importorskip("pandas")
    table = pd.read_csv(
        root / "chestxray14" / "Data_Entry_2017_v2020.csv.gz",
        usecols=["Finding Labels", "Patient ID", "Patient Age", "Patient Gender"],
    )
    findings = table["Finding Labels"].str.get_dummies("|").to_numpy(np.int8)
    return (
        findings,
        table["Patient ID"].to_numpy(),
        table["Patient Age"].to_numpy(),
        table["Patient Gender"].to_numpy(),
    )


@pytest.fixture(scope="module")
def chestxray14(test_data_root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return load_chestxray14(test_data_root)


def _test_folds(cv: Any, y: Any, groups: Any = None) -> list[np.ndarray]:
    return [test for _, test in cv.split(None, y, groups)]


def test_chestxray14_patients_stay_whole_and_labels_stay_stratified(
    chestxray14: tuple[np.ndarray, ...],
) -> None:
    y, patients, _, _ = chestxray14
    assert y.shape == (112_120, 15) and np.unique(patients).shape[0] == 30_805
    _, patient_ids = np.unique(patients, return_inverse=True)
    folds = _test_folds(IterativeStratifiedGroupKFold(5, shuffle=True, random_state=0), y, patients)
    report = stratification_report(y, folds, pairs=False, groups=patients)
    # no patient in two folds
    fold_of = np.empty(y.shape[0], dtype=np.int64)
    for j, fold in enumerate(folds):
        fold_of[fold] = j
    per_patient = np.zeros((patient_ids.max() + 1, 5), dtype=bool)
    per_patient[patient_ids, fold_of] = True
    assert per_patient.sum(axis=1).max() == 1 and report.split_groups == 0
    assert report.groups_per_fold is not None and sum(report.groups_per_fold) == 30_805
    sizes = np.array(report.fold_sizes)
    assert sizes.max() <= 1.02 * sizes.min()
    ungrouped = _test_folds(IterativeStratifiedKFold(5, shuffle=True, random_state=0), y)
    assert report.ld <= 2 * stratification_report(y, ungrouped, pairs=False).ld
    for seed in range(5):
        shuffled = np.random.default_rng(seed).permutation(patient_ids.max() + 1)[patient_ids]
        random_groups = [test for _, test in GroupKFold(5).split(y, y, shuffled)]
        assert report.ld < stratification_report(y, random_groups, pairs=False).ld
    # no empty (fold, label) cell for a label held by at least n_splits patients
    patients_per_label = np.array([np.unique(patients[y[:, c] == 1]).shape[0] for c in range(15)])
    assert (report.positives[:, patients_per_label >= 5] > 0).all()


def test_chestxray14_mixed_targets_with_patients(chestxray14: tuple[np.ndarray, ...]) -> None:
    """Findings x sex x age band, label pairs balanced, patients kept whole."""
    y, patients, age, sex = chestxray14
    targets = stratification_targets(y, sex, bin_continuous(age, 4))
    assert targets.shape == (y.shape[0], 15 + 2 + 4)
    train, test = iterative_train_test_split(
        targets, test_size=0.2, groups=patients, order=2, random_state=0
    )
    assert np.intersect1d(patients[train], patients[test]).shape[0] == 0
    assert train.shape[0] + test.shape[0] == y.shape[0]
    assert abs(test.shape[0] / y.shape[0] - 0.2) < 0.002
    share = targets[test].sum(axis=0) / targets.sum(axis=0)
    assert np.abs(share - 0.2).max() < 0.03


# ----------------------------------------------------------------------------- exact cases


def test_hand_made_groups() -> None:
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [0, 0], [0, 0]])
    groups = np.array(["a", "a", "b", "b", "c", "d", "e", "f"])
    folds = _test_folds(IterativeStratifiedGroupKFold(2), y, groups)
    assert [f.tolist() for f in folds] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [y[f].sum(axis=0).tolist() for f in folds] == [[2, 2], [2, 2]]


def test_groups_of_single_rows_balance_like_ungrouped() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random((600, 6)) < [0.4, 0.2, 0.1, 0.05, 0.02, 0.3]).astype(np.int8)
    folds = _test_folds(IterativeStratifiedGroupKFold(5), y, np.arange(600))
    counts = np.array([y[f].sum(axis=0) for f in folds])
    assert (counts.max(axis=0) - counts.min(axis=0)).max() <= 1
    assert max(len(f) for f in folds) - min(len(f) for f in folds) <= 1


def test_multiclass_groups() -> None:
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 150, 900)
    y = rng.choice(np.array(["cat", "dog", "eel"]), p=[0.7, 0.25, 0.05], size=900)
    folds = _test_folds(IterativeStratifiedGroupKFold(3), y, groups)
    report = stratification_report(y, folds, groups=groups, pairs=False)
    assert report.split_groups == 0
    assert max(report.fold_sizes) - min(report.fold_sizes) <= 0.05 * 300
    for cls in ("cat", "dog", "eel"):
        per_fold = np.array([np.sum(y[f] == cls) for f in folds])
        assert per_fold.max() - per_fold.min() <= 0.2 * per_fold.mean() + 2


def test_sparse_labels_and_order_2() -> None:
    rng = np.random.default_rng(2)
    dense = (rng.random((400, 5)) < 0.2).astype(np.int8)
    groups = rng.integers(0, 100, 400)
    cv = IterativeStratifiedGroupKFold(4, order=2)
    assert [f.tolist() for f in _test_folds(cv, sp.csr_array(dense), groups)] == [
        f.tolist() for f in _test_folds(cv, dense, groups)
    ]


def test_scikit_learn_integration() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    groups = np.repeat(np.arange(50), 4)
    scores = cross_val_score(
        LogisticRegression(), X, y, groups=groups, cv=IterativeStratifiedGroupKFold(4)
    )
    assert scores.shape == (4,) and np.all(scores > 0.7)
    assert IterativeStratifiedGroupKFold(4).get_n_splits() == 4


def test_report_group_figures() -> None:
    y = np.array([[1, 0], [1, 1], [0, 1], [1, 0]])
    report = stratification_report(y, [[0, 2], [1, 3]], groups=[0, 1, 1, 2], pairs=False)
    assert report.groups_per_fold == [2, 2]
    assert report.largest_group_share == 0.5
    assert report.split_groups == 1
    assert "groups split across folds" in str(report)
    assert report.to_dict()["groups_per_fold"] == [2, 2]
    plain = stratification_report(y, [[0, 2], [1, 3]])
    assert plain.groups_per_fold is None and "groups" not in str(plain)


def test_train_test_split_with_groups() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random((500, 4)) < 0.3).astype(np.int8)
    groups = rng.integers(0, 120, 500)
    train, test = iterative_train_test_split(y, test_size=0.3, groups=groups, random_state=0)
    assert np.intersect1d(groups[train], groups[test]).shape[0] == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(500))
    assert abs(test.shape[0] - 150) <= 5
    again = iterative_train_test_split(y, test_size=0.3, groups=groups, random_state=0)
    assert np.array_equal(again[1], test)


def test_mixed_targets_and_bins() -> None:
    assert bin_continuous([3.0, 1.0, 2.0, 4.0, 5.0, 6.0], 3).tolist() == [1, 0, 0, 1, 2, 2]
    assert bin_continuous([0.0, 1.0, 2.0, 9.0, 10.0], 2, "uniform").tolist() == [0, 0, 0, 1, 1]
    assert bin_continuous([7.0] * 5, 4).tolist() == [0] * 5
    assert bin_continuous([7.0] * 5, 4, "uniform").tolist() == [0] * 5
    findings = sp.csr_array(np.array([[1, 0], [0, 1], [1, 1]]))
    out = stratification_targets(findings, np.array([2, 1, 2]), ["x", "y", "x"])
    assert out.toarray().tolist() == [[1, 0, 0, 1, 1, 0], [0, 1, 1, 0, 0, 1], [1, 1, 0, 1, 1, 0]]
    assert out.dtype == np.int8


# ----------------------------------------------------------------------------- invariants


@st.composite
def grouped_labels(draw: Any) -> tuple[np.ndarray, np.ndarray, int, bool]:
    n = draw(st.integers(4, 60))
    multiclass = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    n_groups = draw(st.integers(2, n))
    groups = rng.integers(0, n_groups, n)
    groups[:2] = [0, 1]  # at least two groups
    k = draw(st.integers(2, min(5, np.unique(groups).shape[0])))
    if multiclass:
        y = rng.integers(0, draw(st.integers(1, 4)), n)
    else:
        y = (rng.random((n, draw(st.integers(1, 5)))) < 0.3).astype(np.int8)
    return y, groups, k, draw(st.booleans())


@settings(max_examples=60, deadline=None)
@given(grouped_labels(), st.integers(1, 2), st.integers(0, 1000))
def test_folds_partition_and_never_split_groups(
    case: tuple[np.ndarray, np.ndarray, int, bool], order: int, seed: int
) -> None:
    y, groups, k, shuffle = case
    cv = IterativeStratifiedGroupKFold(
        k, order=order, shuffle=shuffle, random_state=seed if shuffle else None
    )
    with _big_group_warning(groups, k):
        folds = _test_folds(cv, y, groups)
    assert np.array_equal(np.sort(np.concatenate(folds)), np.arange(y.shape[0]))
    owner: dict[int, int] = {}
    for j, fold in enumerate(folds):
        for g in np.unique(groups[fold]).tolist():
            assert owner.setdefault(g, j) == j
    with _big_group_warning(groups, k):
        again = _test_folds(cv, y, groups)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))


def _big_group_warning(groups: np.ndarray, k: int) -> Any:
    """Expect the warning when a group has more rows than a fold's share."""
    if np.bincount(groups).max() > groups.shape[0] / k:
        return pytest.warns(UserWarning, match="largest group")
    return contextlib.nullcontext()


# ----------------------------------------------------------------------------- errors

Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1]])
GROUPS = np.array([0, 0, 1, 1, 2, 2])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"groups": None}, ValueError, "`groups` is required"),
        ({"groups": [0, 1, 2]}, ValueError, r"`groups` should have one group id per row \(6"),
        ({"groups": np.zeros((6, 2))}, ValueError, "`groups` should be a 1-D array"),
        ({"groups": [0.0, 1, 2, np.nan, 1, 1]}, ValueError, "`groups` should hold finite"),
        (
            {"n_splits": 4},
            ValueError,
            r"`n_splits` should be at most the number of groups \(3\), but got n_splits=4",
        ),
        ({"n_splits": 1}, ValueError, "`n_splits` should be"),
        ({"order": 3}, ValueError, "`order` should be 1"),
        ({"y": None}, ValueError, "`y` is required"),
        ({"random_state": 0}, ValueError, "`random_state` has no effect"),
    ],
)
def test_errors(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    groups = kwargs.pop("groups", GROUPS)
    y = kwargs.pop("y", Y)
    with pytest.raises(error, match=message):
        list(IterativeStratifiedGroupKFold(**{"n_splits": 2, **kwargs}).split(None, y, groups))


def test_group_larger_than_a_fold_share_warns() -> None:
    groups = np.array([0, 0, 0, 0, 1, 2])
    with pytest.warns(UserWarning, match="largest group has 4 rows, more than the smallest"):
        folds = _test_folds(IterativeStratifiedGroupKFold(2), Y, groups)
    assert sorted(len(f) for f in folds) == [2, 4]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"groups": [0, 1]}, ValueError, "`groups` should have one group id per row"),
        (
            {"groups": [0] * 6},
            ValueError,
            r"`groups` should hold at least 2 groups \(one per part of the split\), but got 1",
        ),
    ],
)
def test_train_test_split_errors(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        iterative_train_test_split(Y, **kwargs)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: bin_continuous([1.0, 2.0], 1), ValueError, "`n_bins` should be"),
        (lambda: bin_continuous([1.0, np.nan], 2), ValueError, r"`y` should hold finite"),
        (lambda: bin_continuous([1.0, np.inf], 2), ValueError, r"`y` should hold finite"),
        (lambda: bin_continuous([1.0, 2.0], 2, "kmeans"), ValueError, "`strategy` should be"),
        (lambda: bin_continuous(["a", "b"], 2), TypeError, "`y` should hold real-valued"),
        (lambda: stratification_targets(), ValueError, "`columns` should hold at least one"),
        (
            lambda: stratification_targets(np.eye(3), [1, 2]),
            ValueError,
            r"`columns\[1\]` should have 3 rows",
        ),
        (
            lambda: stratification_targets(np.eye(2) * 2),
            ValueError,
            r"columns\[0\]",
        ),
        (
            lambda: stratification_targets([1.0, np.nan]),
            ValueError,
            r"`columns\[0\]` should hold finite",
        ),
    ],
)
def test_target_errors(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
