"""``balancers describe`` and ``balancers split`` on Parquet/CSV columns and saved HF datasets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from balancers.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
datasets = pytest.importorskip("datasets")

Y = np.array([0] * 40 + [1] * 15 + [2] * 5)
TAGS = [[0], [0, 1], [1], [0, 2], [], [2]] * 10


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "labels.parquet"
    names = np.array(["ant", "bee", "cat"])[Y]
    pd.DataFrame({"y": Y, "name": names, "tags": TAGS}).to_parquet(path)
    return path


@pytest.fixture
def saved_dataset(tmp_path: Path) -> Path:
    from datasets import ClassLabel, Dataset, Features, List, Value

    features = Features(
        {"row": Value("int64"), "tags": List(ClassLabel(names=["p", "q", "r", "s"]))}
    )
    path = tmp_path / "hf"
    data = Dataset.from_dict({"row": list(range(len(TAGS))), "tags": TAGS}, features=features)
    data.save_to_disk(str(path))
    return path


def test_describe_reads_a_parquet_column(parquet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", str(parquet), "--column", "name", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["classes"] == ["ant", "bee", "cat"]
    assert report["counts"] == [40, 15, 5]
    assert main(["describe", str(parquet), "--column", "tags", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "multilabel"
    assert report["counts"] == [30, 20, 20]


def test_describe_reads_a_csv_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "labels.csv.gz"
    pd.DataFrame({"x": 1.5, "y": Y}).to_csv(path, index=False)
    assert main(["describe", str(path), "--column", "y", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == [40, 15, 5]


def test_describe_reads_a_saved_hf_dataset(
    saved_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "--hf-dataset", str(saved_dataset), "--column", "tags", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "multilabel"
    assert report["counts"] == [30, 20, 20, 0]


def test_split_of_a_parquet_column(
    parquet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "split.json"
    args = ["split", "--table", str(parquet), "--column", "y", "--test-size", "0.2"]
    assert main([*args, "--out", str(out)]) == 0
    assert "test share" in capsys.readouterr().out
    record = json.loads(out.read_text())
    train, test = np.array(record["train"]), np.array(record["test"])
    assert np.intersect1d(train, test).size == 0
    assert np.union1d(train, test).tolist() == list(range(len(Y)))
    assert np.bincount(Y[test]).tolist() == [8, 3, 1]


def test_split_of_a_saved_hf_dataset(saved_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "parts"
    args = ["split", "--hf-dataset", str(saved_dataset), "--column", "tags", "--out", str(out)]
    assert main([*args, "--test-size", "0.5", "--seed", "3"]) == 0
    parts = datasets.load_from_disk(str(out))
    assert isinstance(parts, datasets.DatasetDict)
    train, test = list(parts["train"]["row"]), list(parts["test"]["row"])
    assert not set(train) & set(test)
    assert sorted(train + test) == list(range(len(TAGS)))
    per_label = [sum(j in TAGS[r] for r in test) for j in range(3)]
    assert per_label == [15, 10, 10]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["describe", "--hf-dataset", "{tmp}"], "--hf-dataset needs --column"),
        (["describe", "--column", "y"], "--column needs a .parquet/.csv file"),
        (["describe", "{parquet}", "--column", "nope"], "its columns are ['y', 'name', 'tags']"),
        (["describe", "--hf-dataset", "{tmp}/missing", "--column", "y"], "is not a directory"),
        (["split", "--table", "{parquet}"], "--table FILE needs --column"),
        (["split", "--column", "y"], "--column needs a .parquet/.csv file"),
        (["split", "mnist", "--table", "{parquet}", "--column", "y"], "not both"),
        (["split", "--table", "{parquet}", "--column", "y", "--out", "{tmp}/x"], "a .json file"),
        (["split", "--table", "{parquet}", "--column", "y", "--test-size", "2"], "--test-size"),
        (["split"], "pass a DATASET name"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str],
    message: str,
    parquet: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    filled = [a.format(tmp=tmp_path, parquet=parquet) for a in args]
    assert main(filled) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
