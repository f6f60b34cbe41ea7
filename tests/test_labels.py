"""get_labels and the label normaliser."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset
from torchvision import datasets

from balancers import get_labels
from balancers._labels import check_labels


class NoDecode:
    """Mixin: any attempt to load a sample fails the test."""

    def __getitem__(self, index: int) -> object:
        raise AssertionError("get_labels decoded a sample")


class NoDecodeMNIST(NoDecode, datasets.MNIST):
    pass


class NoDecodeCIFAR10(NoDecode, datasets.CIFAR10):
    pass


class NoDecodeImageFolder(NoDecode, datasets.ImageFolder):
    pass


def _write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = np.array([magic, *array.shape], dtype=">i4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    root = tmp_path / "mnist"
    raw = root / "NoDecodeMNIST" / "raw"  # torchvision looks under the class name
    raw.mkdir(parents=True)
    images = np.zeros((6, 28, 28), dtype=np.uint8)
    labels = np.array([5, 0, 4, 1, 9, 5], dtype=np.uint8)
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images, 2051)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels, 2049)
    return root


@pytest.fixture
def cifar_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "cifar" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {
            "data": rng.integers(0, 255, (4, 3072), dtype=np.uint8),
            "labels": [3, 8, 8, 0],
        }
        with open(base / name, "wb") as fh:
            pickle.dump(entry, fh)
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, fh)
    # The fake files cannot match the real MD5 sums: skip only that check.
    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(datasets.cifar, "check_integrity", lambda path, md5=None: True)
    return tmp_path / "cifar"


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    for cls, n in (("cat", 2), ("dog", 3)):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (4, 4)).save(root / cls / f"{i}.png")
    return root


def test_torchvision_datasets_without_decoding(
    mnist_root: Path, cifar_root: Path, image_folder: Path
) -> None:
    mnist = NoDecodeMNIST(mnist_root, train=True, download=False)
    assert get_labels(mnist).tolist() == [5, 0, 4, 1, 9, 5]
    cifar = NoDecodeCIFAR10(cifar_root, train=True, download=False)
    assert get_labels(cifar).tolist() == [3, 8, 8, 0] * 5
    folder = NoDecodeImageFolder(image_folder)
    assert get_labels(folder).tolist() == [0, 0, 1, 1, 1]
    assert get_labels(Subset(mnist, [5, 0])).tolist() == [5, 5]
    assert get_labels(Subset(Subset(folder, [4, 3, 0]), [2, 0])).tolist() == [0, 1]
    both = ConcatDataset([mnist, Subset(folder, [1, 2])])
    assert get_labels(both).tolist() == [5, 0, 4, 1, 9, 5, 0, 1]


def test_image_folder_samples_attribute(image_folder: Path) -> None:
    folder = NoDecodeImageFolder(image_folder)
    del folder.targets
    assert get_labels(folder).tolist() == [0, 0, 1, 1, 1]


class PairDataset(Dataset[tuple[int, object]]):
    def __init__(self, targets: list[object]) -> None:
        self.targets_ = targets

    def __len__(self) -> int:
        return len(self.targets_)

    def __getitem__(self, i: int) -> tuple[int, object]:
        return i, self.targets_[i]


def test_fallback_iterates_pairs() -> None:
    assert get_labels(PairDataset([2, 1, 2]), progress=False).tolist() == [2, 1, 2]
    multi = get_labels(PairDataset([torch.tensor([1, 0]), torch.tensor([0, 1])]), progress=False)
    assert sp.issparse(multi)
    assert multi.toarray().tolist() == [[1, 0], [0, 1]]


def test_tensor_dataset_and_plain_labels() -> None:
    ds = TensorDataset(torch.zeros(3, 2), torch.tensor([7, 3, 7]))
    assert get_labels(ds).tolist() == [7, 3, 7]
    assert get_labels([1, 2]).tolist() == [1, 2]


@pytest.mark.parametrize(
    ("labels", "classes", "codes"),
    [
        ([3, 7, 42, 7], [3, 7, 42], [0, 1, 2, 1]),
        (np.array(["b", "a", "b"]), ["a", "b"], [1, 0, 1]),
        (torch.tensor([2.0, 1.0, 2.0]), [1, 2], [1, 0, 1]),
        (np.array([10**12, 5, 10**12]), [5, 10**12], [1, 0, 1]),
        ([-1, 4, -1], [-1, 4], [0, 1, 0]),
        ([True, False], [False, True], [1, 0]),
    ],
)
def test_multiclass_forms(labels: object, classes: list[object], codes: list[int]) -> None:
    info = check_labels(labels)
    assert info.kind == "multiclass"
    assert info.classes.tolist() == classes
    assert info.codes is not None
    assert info.codes.tolist() == codes
    assert info.counts.sum() == len(codes)


def test_multilabel_forms_agree() -> None:
    dense = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0]])
    forms = [
        dense,
        dense.astype(bool),
        torch.tensor(dense),
        sp.csr_matrix(dense),
        sp.coo_array(dense),
    ]
    for form in forms:
        info = check_labels(form)
        assert info.kind == "multilabel"
        assert info.counts.tolist() == [2, 1, 1]
        assert info.empty_rows.tolist() == [1]
        assert info.dense().tolist() == dense.tolist()
        indptr, rows = info.class_members
        assert [rows[indptr[c] : indptr[c + 1]].tolist() for c in range(3)] == [[0, 2], [2], [0]]


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        ([], ValueError, "should not be empty"),
        (np.zeros((0, 3)), ValueError, "should not be empty"),
        (np.zeros((2, 2, 2)), ValueError, "3-D labels"),
        (5, ValueError, "scalar"),
        ("abc", TypeError, "should be a 1-D array of class ids"),
        (None, TypeError, "should be a 1-D array of class ids"),
        ([0.5, 1.0], ValueError, r"integer class ids, but got labels\[0\]=0.5"),
        ([0.0, float("nan")], ValueError, r"1 of 2 labels are missing.*\[1\]"),
        ([[2, 0], [0, 1]], ValueError, "0/1 indicator matrix.*2"),
        (np.array([[0.5, 1.0]]), ValueError, "0/1 indicator matrix"),
        ([[1, 0], [1]], ValueError, "ragged"),
        (np.zeros((3, 0)), ValueError, "at least one label column"),
        ({"a": 1}, TypeError, "should be"),
    ],
)
def test_bad_labels(labels: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        check_labels(labels)


def test_absent_class_message() -> None:
    info = check_labels([1, 5, 5])
    assert info.class_index(5) == 1
    with pytest.raises(ValueError, match=r"class 3, which is absent.*\[1, 5\]"):
        info.class_index(3, "sampling_strategy")


@pytest.mark.parametrize("layout", ["C", "F", "strided", "transposed-view"])
@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int64, np.float32, np.float64])
def test_dense_multilabel_matrix_matches_nonzeros(layout: str, dtype: type) -> None:
    rng = np.random.default_rng(3)
    base = (rng.random((37, 12)) < 0.3).astype(dtype)
    base[5] = 0  # an empty row
    arr = {
        "C": base,
        "F": np.asfortranarray(base),
        "strided": np.concatenate([base, base], axis=1)[:, ::2],
        "transposed-view": base.T.copy().T,
    }[layout]
    lab = check_labels(arr)
    expected = np.asarray(arr) != 0
    assert lab.matrix is not None and lab.matrix.dtype == np.int8
    assert lab.matrix.has_canonical_format and lab.matrix.has_sorted_indices
    np.testing.assert_array_equal(lab.matrix.toarray(), expected.astype(np.int8))
    np.testing.assert_array_equal(lab.counts, expected.sum(axis=0))
    assert lab.empty_rows.tolist() == np.flatnonzero(~expected.any(axis=1)).tolist()
    assert 5 in lab.empty_rows.tolist()


@pytest.mark.parametrize("bad", [2, -1, 0.5])
def test_dense_multilabel_rejects_values_other_than_0_and_1(bad: float) -> None:
    arr = np.zeros((4, 3), dtype=np.float64 if bad == 0.5 else np.int64)
    arr[0, 1] = 1
    arr[2, 2] = bad
    with pytest.raises(ValueError, match=f"0/1 indicator matrix.*contains {bad!r}"):
        check_labels(arr)
