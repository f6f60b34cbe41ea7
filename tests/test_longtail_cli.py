"""``balancers split`` end to end: in process, and once through the installed console script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from torchvision.datasets import MNIST, FashionMNIST

from balancers.cli import main
from balancers.datasets import LongTailSplit, long_tail_counts


def test_split_mnist(
    test_data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mnist-lt.json"
    argv = ["split", "mnist", "--root", str(test_data_root), "--ratio", "100", "--profile", "exp"]
    code = main([*argv, "--val-per-class", "20", "--test-per-class", "100", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    counts = long_tail_counts(5401, 10, 100)  # n_max = 5421 - 20 (MNIST's class 5)
    assert (
        printed[0] == "mnist-LT: profile=exp imbalance_ratio=100 n_max=5401 seed=0 selection=random"
    )
    assert printed[1].split() == ["class", "name", "train", "val", "test"]
    assert printed[3].split() == ["0", "0", "-", "zero", str(counts[0]), "20", "100"]
    assert printed[12].split() == ["9", "9", "-", "nine", str(counts[9]), "20", "100"]
    assert printed[14].split() == ["total", str(sum(counts)), "200", "1000"]
    assert printed[15] == f"manifest written to {out}"
    manifest = json.loads(out.read_text())
    assert manifest["parameters"]["val_per_class"] == 20
    split = LongTailSplit.load(
        out, MNIST(test_data_root, train=True), MNIST(test_data_root, train=False)
    )
    assert split.counts == counts
    assert split.class_counts["test"] == [100] * 10


def test_split_whole_test_set_without_manifest(
    test_data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["split", "fashionmnist", "--root", str(test_data_root), "--ratio", "10"]
    assert main([*argv, "--profile", "linear", "--test-per-class", "all", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    counts = long_tail_counts(6000, 10, 10, "linear")
    assert lines[-1].split() == ["total", str(sum(counts)), "10000"]
    assert not any("manifest" in line for line in lines)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--ratio", "0.5"],
            r"--ratio should be a finite number >= 1, but got imbalance_ratio=0.5",
        ),
        (["--n-max", "7000"], r"--n-max should leave every class enough samples"),
        (["--test-per-class", "900"], r"--test-per-class should be at most the smallest test"),
        (["--val-per-class", "6000"], r"--val-per-class should leave training samples"),
        (["--ratio", "10000"], r"--ratio should be at most n_max=5421"),
    ],
)
def test_bad_values_exit_2_with_one_line(
    test_data_root: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["split", "mnist", "--root", str(test_data_root), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("balancers split: error: ")
    assert re.search(message, err)


def test_missing_dataset_explains_where_files_go(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["split", "cifar100", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{tmp_path}/cifar-100-python" in err
    assert "cifar-100-python.tar.gz" in err
    assert main(["split", "mnist", "--root", str(tmp_path / "absent")]) == 2
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["split", "svhn"],
        ["split", "mnist", "--profile", "zipf"],
        ["split", "mnist", "--test-per-class", "some"],
        ["split", "mnist", "--ratio", "ten"],
        ["split", "mnist", "--selection", "paper"],
    ],
)
def test_parser_rejects(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "balancers split: error: argument" in capsys.readouterr().err


def _console_script() -> list[str]:
    found = shutil.which("balancers") or shutil.which(
        "balancers", path=str(Path(sys.executable).parent)
    )
    return [found] if found else [sys.executable, "-m", "balancers"]


def test_console_script(test_data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "fashion.json"
    args = ["split", "fashionmnist", "--root", str(test_data_root), "--ratio", "100"]
    done = subprocess.run(
        [*_console_script(), *args, "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "Ankle boot" in done.stdout
    split = LongTailSplit.load(
        out, FashionMNIST(test_data_root, train=True), FashionMNIST(test_data_root, train=False)
    )
    assert split.counts == long_tail_counts(6000, 10, 100)
