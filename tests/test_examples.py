"""The example trainers: smoke runs on real MNIST and on genuine-format CIFAR files, the multilabel
grid builder, and determinism of a short run on the CPU."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CPU = ["--device", "cpu", "--no-amp", "--no-channels-last", "--threads", "1"]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def longtail() -> ModuleType:
    return _load("train_longtail")


@pytest.fixture(scope="module")
def multilabel() -> ModuleType:
    return _load("train_multilabel")


@pytest.fixture
def keep_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _run(args: list[str], *, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """Run an example script with this interpreter; ``prelude`` runs first in the same process."""
    script, *rest = args
    code = (
        "import runpy, sys\n"
        + prelude
        + f"sys.argv = {[script, *rest]!r}\n"
        + f"runpy.run_path({script!r}, run_name='__main__')\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


# ---------------------------------------------------------------------------------------------
# long-tailed trainer
# ---------------------------------------------------------------------------------------------


def test_longtail_smoke_mnist(test_data_root: Path, tmp_path: Path) -> None:
    """One epoch of two strategies on real MNIST (digit 6 cut to 1/100), grid outputs included."""
    _run(
        [
            str(EXAMPLES / "train_longtail.py"),
            "--dataset=mnist",
            f"--root={test_data_root}",
            "--minority-classes=6",
            "--ratio=100",
            "--activation=sigmoid",
            "--epochs=1",
            "--limit-train=1500",
            "--limit-test=300",
            "--grid",
            "--samplers=weighted,augment",
            "--losses=focal",
            "--focal-alpha",
            "6=100",
            "--workers=0",
            "--tag=smoke",
            f"--out={tmp_path}",
            "--quiet",
            *CPU,
        ]
    )
    runs = {p.name for p in (tmp_path / "runs").iterdir()}
    assert "mnist_weighted_focal_seed0.json" in runs
    assert "mnist_augment_focal_seed0_confusion.png" in runs
    result = json.loads((tmp_path / "runs" / "mnist_augment_focal_seed0.json").read_text())
    assert result["train_counts"][6] < result["train_counts"][0] / 20
    assert result["train_size"] == 1500 and result["test_size"] == 300
    assert len(result["recall"]) == 10
    assert 0.0 <= result["accuracy"] <= 1.0
    assert result["runtime"] == {
        "device": "cpu",
        "amp": False,
        "amp_dtype": None,
        "channels_last": False,
    }
    assert result["history"][0]["images"] > result["train_size"]  # the oversampled multiset
    table = (tmp_path / "smoke.md").read_text()
    assert "weighted + focal (alpha 6=100)" in table and "recall 6" in table
    assert (tmp_path / "smoke_recall.png").stat().st_size > 0
    grid = json.loads((tmp_path / "smoke.json").read_text())
    assert [r["sampler"] for r in grid["runs"]] == ["weighted", "augment"]


def _dump(path: Path, entry: dict[str, Any]) -> None:
    with open(path, "wb") as fh:
        pickle.dump(entry, fh, protocol=2)


def _cifar_rows(n: int, samples: list[np.ndarray]) -> np.ndarray:
    """``n`` CIFAR rows (R, G, B planes) cycling through real CIFAR-10 test images."""
    images = np.stack([samples[i % len(samples)] for i in range(n)])
    return images.transpose(0, 3, 1, 2).reshape(n, 3072)


def _write_cifar10(root: Path, samples: list[np.ndarray], per_class: int, test_per: int) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_labels = np.repeat(np.arange(10), per_class)
    parts = np.array_split(np.arange(train_labels.size), 5)
    for b, part in enumerate(parts, start=1):
        _dump(
            folder / f"data_batch_{b}",
            {
                "batch_label": f"training batch {b} of 5",
                "labels": train_labels[part].tolist(),
                "data": _cifar_rows(part.size, samples),
                "filenames": [f"img_{i}.png" for i in part],
            },
        )
    test_labels = np.repeat(np.arange(10), test_per)
    _dump(
        folder / "test_batch",
        {
            "batch_label": "testing batch 1 of 1",
            "labels": test_labels.tolist(),
            "data": _cifar_rows(test_labels.size, samples[::-1]),
            "filenames": [f"test_{i}.png" for i in range(test_labels.size)],
        },
    )
    names = ["airplane", "automobile", "bird", "cat", "deer"]
    names += ["dog", "frog", "horse", "ship", "truck"]
    _dump(folder / "batches.meta", {"num_cases_per_batch": 10000, "label_names": names})


# Genuine-format files cannot have the real md5; the trainer runs with an existence check.
_EXISTS_ONLY = (
    "import os, torchvision.datasets.cifar as _c\n"
    "_c.check_integrity = lambda fpath, md5=None: os.path.isfile(fpath)\n"
)


def test_longtail_smoke_cifar(test_data_root: Path, tmp_path: Path) -> None:
    """ResNet-32 on CIFAR-10-LT from tiny genuine-format batches (real CIFAR pixels), through
    the CIFAR schedule, standard crop/flip, a class-balanced sampler and a DRW focal loss."""
    samples = [
        np.asarray(Image.open(p).convert("RGB"))
        for p in sorted((test_data_root / "cifar-samples").glob("cifar10_*.png"))
    ]
    assert len(samples) == 20 and samples[0].shape == (32, 32, 3)
    root = tmp_path / "data"
    _write_cifar10(root, samples, per_class=30, test_per=4)
    out = tmp_path / "out"
    _run(
        [
            str(EXAMPLES / "train_longtail.py"),
            "--dataset=cifar10",
            f"--root={root}",
            "--ratio=10",
            "--epochs=2",
            "--warmup=1",
            "--decay",
            "1",
            "2",
            "--batch-size=32",
            "--sampler=balanced",
            "--loss=focal",
            "--drw=1",
            f"--out={out}",
            "--quiet",
            *CPU,
        ],
        prelude=_EXISTS_ONLY,
    )
    result = json.loads((out / "runs" / "cifar10_balanced_focal_drw1_seed0.json").read_text())
    assert result["arch"] == "resnet32" and result["optimizer"] == "sgd"
    assert result["lr"] == 0.1 and result["epochs"] == 2
    assert result["train_counts"] == [30, 23, 17, 13, 10, 8, 6, 5, 3, 3]
    assert result["test_size"] == 40
    assert [h["images"] for h in result["history"]] == [118, 118]
    assert (out / "runs" / "cifar10_balanced_focal_drw1_seed0_confusion.png").is_file()


def test_cifar_schedule(longtail: ModuleType) -> None:
    """Linear warm-up over 5 epochs, then x0.01 at 160 and x0.0001 at 180."""
    args = longtail.parse_args(["--dataset", "cifar10"])
    assert (args.arch, args.optimizer, args.lr, args.weight_decay) == ("resnet32", "sgd", 0.1, 2e-4)
    assert (args.epochs, args.batch_size, args.schedule) == (200, 128, "cifar")
    lr = [longtail.cifar_lr(e, 0, 100, 0.1, args) for e in (0, 4, 5, 159, 160, 179, 180, 199)]
    assert lr[0] == pytest.approx(0.1 * 0.01 / 5)
    assert lr[1] == pytest.approx(0.1 * 4.01 / 5)
    assert lr[2:] == pytest.approx([0.1, 0.1, 1e-3, 1e-3, 1e-5, 1e-5])


def test_loss_weights_and_drw(longtail: ModuleType) -> None:
    args = longtail.parse_args(["--loss", "focal", "--focal-alpha", "6=100"])
    loss = longtail.make_loss(args, [100] * 10, 0)
    assert loss.alpha.tolist() == [1.0] * 6 + [100.0] + [1.0] * 3
    args = longtail.parse_args(["--loss", "ce", "--drw", "3"])
    assert longtail.make_loss(args, [1000, 10], 2).weight is None
    late = longtail.make_loss(args, [1000, 10], 3).weight
    assert late is not None and late[1] > 10 * late[0]


def test_longtail_determinism(
    longtail: ModuleType, test_data_root: Path, tmp_path: Path, keep_threads: None
) -> None:
    """Same seed, same metrics (CPU); the device-side augmentation path is exercised too."""
    argv = [
        f"--root={test_data_root}",
        "--ratio=100",
        "--epochs=1",
        "--limit-train=800",
        "--limit-test=200",
        "--sampler=augment",
        "--augment-backend=device",
        "--quiet",
        *CPU,
    ]
    results = []
    for name in ("a", "b"):
        assert longtail.main([*argv, f"--out={tmp_path / name}"]) == 0
        results.append(
            json.loads((tmp_path / name / "runs" / "mnist_augment_ce_seed0.json").read_text())
        )
    for key in ("accuracy", "recall", "confusion", "train_counts"):
        assert results[0][key] == results[1][key]
    assert results[0]["history"][0]["loss"] == results[1]["history"][0]["loss"]


# ---------------------------------------------------------------------------------------------
# multilabel benchmark
# ---------------------------------------------------------------------------------------------


def _source(per_class: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Distinct random 28x28 'digits', ``per_class`` of each class 0..9."""
    rng = np.random.default_rng(7)
    digits = np.repeat(np.arange(10), per_class)
    images = rng.integers(0, 256, size=(digits.size, 28, 28), dtype=np.uint8)
    return images, digits


def test_label_counts(multilabel: ModuleType) -> None:
    assert multilabel.label_counts(224000) == [19000, 65000, 38000, 105000]
    assert multilabel.label_counts(22400) == [1900, 6500, 3800, 10500]
    assert multilabel.label_counts(1000) == [85, 290, 170, 469]


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**16))
def test_grids_composition(multilabel: ModuleType, n: int, seed: int) -> None:
    images, digits = _source()
    chosen = (3, 5, 8, 9)
    grids = multilabel.build_grids(images, digits, n, digits=chosen, seed=seed)
    assert grids.images.shape == (n, 56, 56) and grids.images.dtype == np.uint8
    assert grids.labels.sum(axis=0).tolist() == multilabel.label_counts(n)
    # each cell holds the source image it names, of the digit it names
    assert (digits[grids.cell_sources] == grids.cell_digits).all()
    cells = [grids.images[:, :28, :28], grids.images[:, :28, 28:]]
    cells += [grids.images[:, 28:, :28], grids.images[:, 28:, 28:]]
    for k, cell in enumerate(cells):
        assert (cell == images[grids.cell_sources[:, k]]).all()
    # a label is 1 exactly when its digit is in the grid, and then in one cell only
    for j, digit in enumerate(chosen):
        occurrences = (grids.cell_digits == digit).sum(axis=1)
        assert (occurrences == grids.labels[:, j]).all()
    others = ~np.isin(grids.cell_digits, chosen)
    assert (others.sum(axis=1) == 4 - grids.labels.sum(axis=1)).all()


def test_grids_frequencies_and_empty_rows(multilabel: ModuleType) -> None:
    images, digits = _source()
    grids = multilabel.build_grids(images, digits, 22400, seed=0)
    freq = grids.labels.mean(axis=0)
    assert freq.tolist() == pytest.approx(
        [19000 / 224000, 65000 / 224000, 38000 / 224000, 105000 / 224000]
    )
    empty = (grids.labels.sum(axis=1) == 0).mean()
    expected = np.prod(1 - freq)  # labels are placed independently
    assert abs(empty - expected) < 0.02
    again = multilabel.build_grids(images, digits, 22400, seed=0)
    assert (again.images == grids.images).all()
    other = multilabel.build_grids(images, digits, 22400, seed=1)
    assert not (other.labels == grids.labels).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"digits": (1, 1, 2, 3)}, "distinct"),
        ({"digits": (1, 2, 3)}, "one per frequency"),
    ],
)
def test_grids_bad_digits(multilabel: ModuleType, kwargs: dict[str, Any], message: str) -> None:
    images, digits = _source()
    with pytest.raises(ValueError, match=message):
        multilabel.build_grids(images, digits, 10, **kwargs)


def test_multilabel_bad_strategy(
    multilabel: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        multilabel.parse_args(["--grid", "--strategies", "bce,smote"])
    assert info.value.code == 2
    assert "choose from bce" in capsys.readouterr().err


def test_multilabel_smoke(test_data_root: Path, tmp_path: Path) -> None:
    """One epoch of every strategy on small real-MNIST grids; the report and plot are written."""
    _run(
        [
            str(EXAMPLES / "train_multilabel.py"),
            f"--root={test_data_root}",
            "--train-size=500",
            "--test-size=200",
            "--epochs=1",
            "--grid",
            f"--out={tmp_path}",
            "--quiet",
            *CPU,
        ]
    )
    payload = json.loads((tmp_path / "multilabel.json").read_text())
    runs = {r["strategy"]: r for r in payload["runs"]}
    assert set(runs) == {
        "bce",
        "pos-weight",
        "focal",
        "ml-ros",
        "lp-ros",
        "repeat-factor",
        "class-aware",
    }
    bce = runs["bce"]
    assert bce["test"]["positives"] == [17, 58, 34, 94]
    assert sum(bce["train_positives"]) + sum(bce["val"]["per_label"]["support"]) == sum(
        [42, 145, 85, 234]
    )
    assert runs["ml-ros"]["epoch_size"] > bce["epoch_size"]
    assert runs["lp-ros"]["epoch_size"] == bce["epoch_size"] + bce["epoch_size"] // 4
    for r in runs.values():
        assert len(r["test"]["predicted_positives"]) == 4
        assert all(
            t <= p
            for t, p in zip(
                r["test"]["true_positives"], r["test"]["predicted_positives"], strict=True
            )
        )
    table = (tmp_path / "multilabel.md").read_text()
    assert "predicted (true) pos." in table
    assert (tmp_path / "multilabel_labels.png").stat().st_size > 0
