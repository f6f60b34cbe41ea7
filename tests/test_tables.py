"""Labels from pandas, polars, pyarrow and Hugging Face datasets; the stratified dataset splits."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from balancers import ClassBalancedSampler, describe, get_labels
from balancers._labels import check_labels

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
datasets = pytest.importorskip("datasets")
from balancers.integrations import stratified_kfold, stratified_train_test_split  # noqa: E402
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value  # noqa: E402

IDS = np.array([3, 1, 3, 7, 1, 3])
NAMES = np.array(["cat", "dog", "cat", "emu", "dog", "cat"])
TAGS = [[0, 2], [1], [], [2, 2, 0], [3]]
TAG_MATRIX = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]])


def _dense(labels: Any) -> np.ndarray:
    return labels.toarray() if sp.issparse(labels) else np.asarray(labels)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: pd.Series(IDS), IDS),
        (lambda: pd.Series(IDS, dtype="Int64"), IDS),
        (lambda: pd.Series(NAMES), NAMES),
        (lambda: pd.Series(NAMES, dtype="category"), NAMES),
        (lambda: pd.Series(IDS).astype("category"), IDS),
        (lambda: pd.Series(IDS.astype(float)), IDS),
        (lambda: pd.Index(NAMES), NAMES),
        (lambda: pd.Categorical(IDS), IDS),
        (lambda: pl.Series(IDS), IDS),
        (lambda: pl.Series(NAMES), NAMES),
        (lambda: pl.Series(NAMES, dtype=pl.Categorical), NAMES),
        (lambda: pa.array(IDS), IDS),
        (lambda: pa.chunked_array([IDS[:2], IDS[2:]]), IDS),
        (lambda: pa.chunked_array([NAMES[:4], NAMES[4:]]).dictionary_encode(), NAMES),
        (lambda: pd.DataFrame({"label": IDS, "x": 0.5}), IDS),
        (lambda: pl.DataFrame({"y": NAMES}).with_columns(labels=pl.Series(IDS)), IDS),
        (lambda: pa.table({"label": IDS}), IDS),
        (lambda: Dataset.from_dict({"label": IDS}), IDS),
        (lambda: Dataset.from_dict({"labels": NAMES.tolist()}), NAMES),
        (lambda: pd.Series(TAGS), TAG_MATRIX[:, [0, 1, 2, 3]]),
        (lambda: pl.Series(TAGS), TAG_MATRIX),
        (lambda: pa.array(TAGS), TAG_MATRIX),
        (lambda: pa.array(TAG_MATRIX.tolist(), pa.list_(pa.int8(), 4)), TAG_MATRIX),
        (lambda: pd.Series(list(TAG_MATRIX.astype(float))), TAG_MATRIX),
    ],
)
def test_one_column_gives_the_same_labels_as_numpy(make: Any, expected: np.ndarray) -> None:
    labels = get_labels(make())
    np.testing.assert_array_equal(_dense(labels), expected)
    assert sp.issparse(labels) == (expected.ndim == 2)
    reference, checked = check_labels(expected), check_labels(make())
    np.testing.assert_array_equal(checked.classes, reference.classes)
    np.testing.assert_array_equal(checked.counts, reference.counts)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=60), st.integers(1, 4))
def test_frames_and_arrow_match_numpy(values: list[int], chunks: int) -> None:
    y = np.asarray(values, dtype=np.int64)
    parts = np.array_split(y, chunks)
    frames = (pd.Series(y), pl.Series(y), pa.chunked_array(parts), pd.Series(y, dtype="category"))
    for data in frames:
        np.testing.assert_array_equal(get_labels(data), y)
    sampler = ClassBalancedSampler(pl.Series(y), seed=3)
    np.testing.assert_array_equal(
        sampler.global_indices(0), ClassBalancedSampler(y, seed=3).global_indices(0)
    )


def _hf_features() -> Features:
    return Features(
        {
            "label": ClassLabel(names=["a", "b", "c", "d", "e", "f", "g", "h"]),
            "tags": List(ClassLabel(names=["p", "q", "r", "s", "t", "u"])),
            "name": Value("string"),
        }
    )


def test_hf_dataset_class_label_list_and_string_columns() -> None:
    ds = Dataset.from_dict(
        {"label": IDS.tolist()[:5], "tags": TAGS, "name": NAMES.tolist()[:5]},
        features=_hf_features(),
    )
    np.testing.assert_array_equal(get_labels(ds), IDS[:5])
    tags = get_labels(ds, column="tags")
    # List(ClassLabel): one matrix column per class, also for classes never used
    assert tags.shape == (5, 6)
    np.testing.assert_array_equal(tags.toarray()[:, :4], TAG_MATRIX)
    np.testing.assert_array_equal(get_labels(ds, column="name"), NAMES[:5])
    # the rows of a selection, in its order (Arrow indices mapping)
    np.testing.assert_array_equal(get_labels(ds.select([4, 0, 0]), column="label"), [1, 3, 3])
    picked = ds.shuffle(seed=1)
    np.testing.assert_array_equal(get_labels(picked), picked.with_format("numpy")["label"])
    assert describe(get_labels(ds, column="tags")).kind == "multilabel"


def test_hf_dataset_multilabel_from_several_01_columns() -> None:
    ds = Dataset.from_dict({f"C{j}": TAG_MATRIX[:, j].tolist() for j in range(4)})
    labels = get_labels(ds, column=["C0", "C1", "C2", "C3"])
    np.testing.assert_array_equal(_dense(labels), TAG_MATRIX)


@pytest.mark.parametrize(
    ("make", "count", "rows"),
    [
        (lambda: pd.Series([1, None, 2, None], dtype="Int64"), 2, "1, 3"),
        (lambda: pd.Series([1.0, np.nan, 2.0]), 1, "1"),
        (lambda: pd.Series(["a", None, "b"], dtype="category"), 1, "1"),
        (lambda: pl.Series([None, 1, 2]), 1, "0"),
        (lambda: pa.chunked_array([[1, 2], [None, 4, None, None, None, None, None]]), 6, "2, 4, "),
        (lambda: Dataset.from_dict({"label": [0, None, 1]}), 1, "1"),
        (lambda: pa.array([[0], None, [1]]), 1, "1"),
        (lambda: pa.array([[0], [None, 1], [1]]), 1, "1"),
    ],
)
def test_nulls_are_an_error_with_count_and_first_rows(make: Any, count: int, rows: str) -> None:
    with pytest.raises(ValueError, match="missing") as info:
        get_labels(make())
    message = str(info.value)
    assert f"{count} of " in message
    assert f"are missing (None or NaN), at positions [{rows}" in message
    with pytest.raises(ValueError, match="missing"):
        check_labels(make())


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "message"),
    [
        (lambda: pd.DataFrame({"y": [1]}), {"column": "label"}, ValueError, "its columns are"),
        (lambda: pd.DataFrame({"y": [1]}), {}, ValueError, "no single column named 'label'"),
        (lambda: pd.DataFrame({"y": [1]}), {"column": 3}, TypeError, "`column` should be"),
        (lambda: pd.Series([1]), {"column": "y"}, TypeError, "one column already"),
        (lambda: np.array([1, 2]), {"column": "y"}, TypeError, "`column` applies to a pandas"),
        (lambda: pa.array([{"a": 1}]), {}, TypeError, "Arrow type struct"),
        (lambda: pa.array([[-1, 2]]), {}, ValueError, "non-negative class ids"),
        (lambda: pa.array([[0.0, 1.0], [1.0]]), {}, ValueError, "0/1 vectors of one length"),
    ],
)
def test_bad_input_is_named(data: Any, kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        get_labels(data(), **kwargs)


def _png_bytes() -> list[bytes]:
    root = os.environ.get("BALANCERS_TEST_DATA")
    if not root:
        pytest.skip("BALANCERS_TEST_DATA is not set (the real CIFAR sample images)")
    files = sorted(Path(root, "cifar-samples").glob("*.png"))[:4]
    return [f.read_bytes() for f in files]


def test_hf_image_column_is_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import Image

    pil = pytest.importorskip("PIL.Image")
    pngs = _png_bytes()
    ds = Dataset.from_dict(
        {"image": [{"bytes": b, "path": None} for b in pngs * 50], "label": [0, 1, 1, 2] * 50},
        features=Features({"image": Image(), "label": ClassLabel(num_classes=3)}),
    )
    opened: list[Any] = []
    real_open = pil.open

    def counting_open(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(pil, "open", counting_open)
    _ = ds[0]["image"]  # the spy sees a decode
    assert len(opened) == 1
    np.testing.assert_array_equal(get_labels(ds), [0, 1, 1, 2] * 50)
    np.testing.assert_array_equal(get_labels(ds.shuffle(seed=0).select(range(5))).shape, [5])
    parts = stratified_train_test_split(ds, test_size=0.5, random_state=0)
    assert len(opened) == 1
    assert parts.num_rows == {"train": 100, "test": 100}


def _yeast() -> Any:
    root = os.environ.get("BALANCERS_TEST_DATA")
    if not root:
        pytest.skip("BALANCERS_TEST_DATA is not set (the yeast data set)")
    with gzip.open(Path(root, "yeast", "yeast.csv.gz"), "rt") as fh:
        frame = pd.read_csv(fh)
    classes = [c for c in frame.columns if c.startswith("Class")]
    matrix = frame[classes].to_numpy()
    tags = [np.flatnonzero(row).tolist() for row in matrix]
    features = Features({"row": Value("int64"), "tags": List(ClassLabel(names=classes))})
    ds = Dataset.from_dict({"row": list(range(len(tags))), "tags": tags}, features=features)
    return ds, matrix


def test_hf_split_helper_on_yeast() -> None:
    ds, matrix = _yeast()
    parts = stratified_train_test_split(ds, column="tags", test_size=0.2, random_state=0)
    assert isinstance(parts, DatasetDict)
    assert set(parts) == {"train", "test"}
    train, test = np.asarray(parts["train"]["row"]), np.asarray(parts["test"]["row"])
    assert np.intersect1d(train, test).size == 0
    assert np.union1d(train, test).tolist() == list(range(len(ds)))
    fraction = matrix[test].sum(axis=0) / matrix.sum(axis=0)
    assert np.abs(fraction - 0.2).max() <= 0.01, fraction
    # the test part's labels are read back from its own rows
    np.testing.assert_array_equal(get_labels(parts["test"], column="tags").toarray(), matrix[test])
    again = stratified_train_test_split(ds, column="tags", test_size=0.2, random_state=0)
    assert again["test"]["row"][:] == parts["test"]["row"][:]


def test_hf_kfold_helper_on_yeast() -> None:
    ds, matrix = _yeast()
    folds = list(stratified_kfold(ds, column="tags", n_splits=3))
    assert all(isinstance(f, DatasetDict) for f in folds)
    tests = [np.asarray(f["test"]["row"]) for f in folds]
    assert sorted(np.concatenate(tests).tolist()) == list(range(len(ds)))
    for fold, test in zip(folds, tests, strict=True):
        assert np.intersect1d(np.asarray(fold["train"]["row"]), test).size == 0
        share = matrix[test].sum(axis=0) / matrix.sum(axis=0)
        assert np.abs(share - 1 / 3).max() < 0.02


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "message"),
    [
        (lambda: pd.Series([0, 1]), {}, TypeError, "`dataset` should be a datasets.Dataset"),
        (
            lambda: DatasetDict({"train": Dataset.from_dict({"label": [0, 1]})}),
            {},
            TypeError,
            "dataset\\['train'\\]",
        ),
        (lambda: Dataset.from_dict({"y": [0, 1]}), {}, ValueError, "Pass column="),
        (
            lambda: Dataset.from_dict({"label": [0, 1, 0, 1]}),
            {"test_size": 1.5},
            ValueError,
            "`test_size` should be",
        ),
    ],
)
def test_hf_split_helper_bad_input(
    data: Any, kwargs: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        stratified_train_test_split(data(), **kwargs)
