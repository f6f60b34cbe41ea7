"""``balancers describe``: label files, torchvision datasets, --json, --plot and bad input."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from torchvision.datasets import MNIST, FashionMNIST

from balancers.cli import main

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["describe", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_yeast_csv_range_and_glob(test_data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(test_data_root / "yeast" / "yeast.csv.gz")
    by_range = run_json(capsys, path, "--labels", "Class1:Class14")
    by_glob = run_json(capsys, path, "--labels", "Class*")
    assert by_range == by_glob
    assert by_range["kind"] == "multilabel" and by_range["n_samples"] == 2417
    assert by_range["classes"][0] == "Class1" and by_range["classes"][-1] == "Class14"
    assert by_range["max_ir"] == pytest.approx(53.4118, abs=1e-4)
    assert by_range["n_labelsets"] == 198
    subset = run_json(capsys, path, "--labels", "Class1, Class14")
    assert subset["counts"] == [by_range["counts"][0], by_range["counts"][-1]]


def test_table_and_plot(
    test_data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "yeast.png"
    path = str(test_data_root / "yeast" / "yeast.csv.gz")
    assert main(["describe", path, "--labels", "Class*", "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert "MeanIR:" in text and "SCUMBLE:" in text and "Class14" in text
    assert f"plot written to {out}" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("name", "split", "expected"),
    [
        ("mnist", "train", MNIST_TRAIN),
        ("mnist", "test", MNIST_TEST),
        ("fashionmnist", "train", [6000] * 10),
        ("fashionmnist", "test", [1000] * 10),
    ],
)
def test_mnist_datasets(
    test_data_root: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    split: str,
    expected: list[int],
) -> None:
    d = run_json(capsys, "--dataset", name, "--root", str(test_data_root), "--split", split)
    assert d["kind"] == "multiclass"
    assert d["counts"] == expected
    assert d["source"] == f"{name} ({split})"
    assert d["names"] == (MNIST if name == "mnist" else FashionMNIST).classes


def _write_cifar(root: Path, folder: str, files: dict[str, list[int]], key: str) -> None:
    base = root / folder
    base.mkdir(parents=True)
    for name, labels in files.items():
        entry = {"data": np.zeros((len(labels), 3072), dtype=np.uint8), key: labels}
        with open(base / name, "wb") as fh:
            pickle.dump(entry, fh)


def test_cifar10_pickle_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train = {f"data_batch_{i}": [i % 10, 3, 3] for i in range(1, 6)}
    _write_cifar(tmp_path, "cifar-10-batches-py", {**train, "test_batch": [1, 1, 2]}, "labels")
    names = [f"name{i}" for i in range(10)]
    with open(tmp_path / "cifar-10-batches-py" / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_vis": 3072}, fh)
    d = run_json(capsys, "--dataset", "cifar10", "--root", str(tmp_path))
    assert d["classes"] == [1, 2, 3, 4, 5] and d["counts"] == [1, 1, 11, 1, 1]
    assert d["names"] == ["name1", "name2", "name3", "name4", "name5"]
    d = run_json(capsys, "--dataset", "cifar10", "--root", str(tmp_path), "--split", "test")
    assert d["counts"] == [2, 1]


def test_cifar100_fine_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_cifar(tmp_path, "cifar-100-python", {"train": [99, 0, 0], "test": [5]}, "fine_labels")
    d = run_json(capsys, "--dataset", "cifar100", "--root", str(tmp_path))
    assert d["classes"] == [0, 99] and d["counts"] == [2, 1]
    assert "names" not in d  # no meta file: the ids alone


def test_npy_and_npz_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "y.npy", np.array([0, 0, 0, 2]))
    assert run_json(capsys, str(tmp_path / "y.npy"))["counts"] == [3, 1]
    dense = np.array([[1, 0], [1, 1], [1, 0]], dtype=np.int8)
    sp.save_npz(tmp_path / "sparse.npz", sp.csr_matrix(dense))
    d = run_json(capsys, str(tmp_path / "sparse.npz"))
    assert d["kind"] == "multilabel" and d["irlbl"] == [1.0, 3.0]
    np.savez(tmp_path / "two.npz", X=np.zeros((3, 2)), labels=dense)
    assert run_json(capsys, str(tmp_path / "two.npz"))["counts"] == [3, 1]
    np.savez(tmp_path / "keys.npz", a=np.array([1, 2, 2]), b=np.array([0]))
    assert run_json(capsys, str(tmp_path / "keys.npz"), "--key", "a")["counts"] == [1, 2]


def test_single_csv_column_is_multiclass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "y.csv").write_text("id,animal\n1,cat\n2,dog\n3,dog\n")
    d = run_json(capsys, str(tmp_path / "y.csv"), "--labels", "animal")
    assert d["kind"] == "multiclass" and d["classes"] == ["cat", "dog"] and d["counts"] == [1, 2]


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({}, ["missing.csv"], "does not exist"),
        ({"y.txt": "1\n"}, ["y.txt"], "unknown extension"),
        (
            {"y.csv": "a,b\n1,0\n"},
            ["y.csv", "--labels", "c"],
            "does not have; its columns are a, b",
        ),
        ({"y.csv": "a,b\n1,0\n"}, ["y.csv", "--labels", "z*"], "matches no column"),
        ({"y.csv": "a,b\n1,0\n"}, ["y.csv", "--labels", "b:a"], "runs backwards"),
        ({"y.csv": "a,b\n1,x\n"}, ["y.csv"], "column 'b' is not numeric"),
        ({"y.csv": "a,b\n1,0\n1\n"}, ["y.csv"], "line 3 has 1 fields"),
        ({"y.csv": "a,b\n1,\n"}, ["y.csv"], "column 'b' is empty"),
        ({"y.csv": "a,b\n"}, ["y.csv"], "no rows"),
        ({"y.csv": "a,b\n1,0.5\n"}, ["y.csv"], "0/1 indicator matrix.*--labels"),
        ({"y.npy": None}, ["y.npy", "--labels", "a"], "--labels selects CSV columns"),
        ({"y.npy": None}, ["y.npy", "--key", "a"], "--key selects an array"),
        ({"k.npz": None}, ["k.npz"], "holds several arrays"),
        ({"k.npz": None}, ["k.npz", "--key", "zz"], "--key 'zz' is not in"),
        ({}, [], "pass either a label file PATH or --dataset"),
        ({"y.npy": None}, ["y.npy", "--dataset", "mnist"], "pass either"),
        ({}, ["--dataset", "mnist"], "needs --root"),
        ({}, ["--dataset", "mnist", "--root", "nowhere"], "is not a directory"),
        ({}, ["--dataset", "cifar10", "--root", "."], "cifar-10-batches-py"),
        ({}, ["--dataset", "mnist", "--root", "."], "MNIST/raw"),
        ({}, ["--dataset", "imagefolder", "--root", "."], "not an ImageFolder tree"),
        ({"y.npy": None}, ["y.npy", "--split", "test"], "--split applies to --dataset"),
        ({}, ["--dataset", "imagefolder", "--root", ".", "--split", "test"], "is one set"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str | None],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, content in files.items():
        if name.endswith(".npy"):
            np.save(tmp_path / name, np.array([0, 1]))
        elif name.endswith(".npz"):
            np.savez(tmp_path / name, a=np.array([0, 1]), b=np.array([1]))
        else:
            (tmp_path / name).write_text(content or "")
    assert main(["describe", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("balancers describe: error: ")
    assert re.search(message, err), err


def test_help_lists_describe(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["describe", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--labels" in out and "--dataset" in out and "--plot" in out and "--json" in out
