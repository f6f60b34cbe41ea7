"""``balancers demo``: the console script end to end, determinism, the strategies, bad input."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from matplotlib.figure import Figure
from torch import nn

from balancers import __version__
from balancers.cli import main
from balancers.datasets import long_tail_counts
from balancers.demo import STRATEGIES, DemoConfig, Setup, resolve_strategies, run_demo
from balancers.demo._data import ImageTensors, digits_split
from balancers.demo._strategies import _deferred_stage
from balancers.demo._training import shot_thresholds
from balancers.samplers import ClassBalancedSampler

ROOT = Path(__file__).resolve().parents[1]
TITLES = [s.title for s in STRATEGIES.values()]


@pytest.mark.slow
def test_console_script_quick_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "balancers", "demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("strategy"))
    assert lines[header].split()[1:4] == ["accuracy", "balanced", "acc"]
    assert "few-shot acc" in lines[header]
    assert "worst-class recall" in lines[header]
    rows = lines[header + 1 : header + 1 + len(TITLES)]
    assert [row[: len(title)] for row, title in zip(rows, TITLES, strict=True)] == TITLES
    for row in rows:
        assert row.rstrip().endswith("s")  # the time column
    assert "long-tailed train set of 417 images" in proc.stdout
    made_with = (
        f"versions: balancers {__version__}, torch {torch.__version__}, torchvision "
        f"{torchvision.__version__}, numpy {np.__version__}, python {platform.python_version()}"
    )
    assert made_with in lines[: header + 1]  # the header says what the numbers were made with
    assert "100%" in proc.stderr  # a finished tqdm bar per strategy
    png = out / "recall_by_class.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = json.loads((out / "results.json").read_text())
    assert made_with == "versions: " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
    assert list(result["strategies"]) == list(STRATEGIES)
    assert result["train_counts"] == long_tail_counts(124, 10, 20)
    for key, row in zip(STRATEGIES, rows, strict=True):
        numbers = result["strategies"][key]
        assert f"{numbers['accuracy']:.3f}" in row
        assert len(numbers["per_class_recall"]) == 10
        assert 0.0 <= numbers["worst_class_recall"] <= numbers["balanced_accuracy"] <= 1.0


def _numbers(result: Any) -> dict[str, Any]:
    out = result.to_dict()
    for entry in out["strategies"].values():
        entry.pop("seconds")
    return out


def test_same_seed_same_numbers_and_no_global_state() -> None:
    config = DemoConfig(strategies="ce,augment,drs", epochs=2, progress=False)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    threads = torch.get_num_threads()
    first = run_demo(config)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[1].tolist() == np_state[1].tolist()  # noqa: NPY002
    assert torch.get_num_threads() == threads
    torch.manual_seed(123)  # the global state must not matter either
    second = run_demo(config)
    assert _numbers(first) == _numbers(second)
    other = run_demo(DemoConfig(strategies="ce", epochs=2, seed=1, progress=False))
    assert other.to_dict()["train_indices"] != first.to_dict()["train_indices"]


def test_digits_split_is_long_tailed_balanced_and_disjoint() -> None:
    data = digits_split(20.0, "exp", 0, None, None)
    assert data.train_counts == long_tail_counts(124, 10, 20)
    assert np.bincount(data.train_labels).tolist() == data.train_counts
    assert np.bincount(data.test_labels).tolist() == [50] * 10
    assert np.intersect1d(data.train_indices, data.test_indices).size == 0
    assert data.train_images.dtype == torch.uint8
    assert tuple(data.train_images.shape) == (sum(data.train_counts), 8, 8)
    step = digits_split(10.0, "step", 0, 100, 40)
    assert step.train_counts == [100] * 5 + [10] * 5
    assert np.bincount(step.test_labels).tolist() == [40] * 10


def test_shot_thresholds_cut_the_log_range_in_thirds() -> None:
    many, few = shot_thresholds(long_tail_counts(124, 10, 20), 20.0)
    assert (many, few) == (45.7, 16.8)
    counts = np.array(long_tail_counts(124, 10, 20))
    assert np.flatnonzero(counts > many).tolist() == [0, 1, 2]
    assert np.flatnonzero(counts < few).tolist() == [6, 7, 8, 9]


@pytest.mark.parametrize(("epochs", "start"), [(1, 0), (2, 1), (4, 3), (10, 8), (30, 24)])
def test_deferred_stage_is_the_last_fifth(epochs: int, start: int) -> None:
    assert _deferred_stage(epochs) == start


def _setup(epochs: int = 10) -> Setup:

    labels = np.array([0] * 8 + [1] * 2)
    images = torch.zeros(10, 8, 8, dtype=torch.uint8)
    train = ImageTensors(images, torch.from_numpy(labels), 0.0, 1.0)
    return Setup(train=train, labels=labels, epochs=epochs, seed=0)


def test_deferred_strategies_switch_at_the_second_stage() -> None:
    setup = _setup(10)
    drw = STRATEGIES["drw"].plan(setup)
    before, after = drw.loss(7), drw.loss(8)
    assert isinstance(before, nn.CrossEntropyLoss)
    assert before.weight is None
    assert after.weight is not None
    assert after.weight[1] > after.weight[0]
    drs = STRATEGIES["drs"].plan(setup)
    assert drs.sampler(7) is None
    assert isinstance(drs.sampler(8), ClassBalancedSampler)


def test_each_strategy_plans_a_trainable_epoch() -> None:
    setup = _setup(2)
    for key, strategy in STRATEGIES.items():
        plan = strategy.plan(setup)
        for hook in plan.on_epoch:
            hook(1)
        sampler = plan.sampler(1)
        indices = list(sampler) if sampler is not None else range(len(plan.dataset))  # type: ignore[arg-type]
        x, y = plan.dataset[next(iter(indices))]
        assert x.shape == (1, 8, 8), key
        assert x.dtype == torch.float32, key
        loss = plan.loss(1)(torch.zeros(1, 2, requires_grad=True), torch.tensor([y]))
        assert torch.isfinite(loss), key


def test_resolve_strategies() -> None:
    chosen, notes = resolve_strategies(None)
    assert chosen == list(STRATEGIES)  # albumentations is installed in the test environment
    assert notes == []
    assert resolve_strategies("focal, ce,focal")[0] == ["focal", "ce"]
    assert resolve_strategies(["drw"])[0] == ["drw"]


def test_plot_has_a_line_per_strategy() -> None:
    result = run_demo(DemoConfig(strategies="ce,focal", epochs=1, progress=False))
    fig = result.plot()
    assert isinstance(fig, Figure)
    recall_axes = fig.axes[0]
    assert [line.get_label() for line in recall_axes.get_lines()] == ["shuffle + CE", "focal loss"]
    np.testing.assert_allclose(
        recall_axes.get_lines()[1].get_ydata(), result.results[1].report.recall
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategies", "ce,bogus"], r"unknown strategy 'bogus'; choose from: ce, weighted-ce, "),
        (["--strategies", ","], r"no strategy given"),
        (["--dataset", "cifar10"], r"unknown dataset 'cifar10'; choose from: digits, mnist, "),
        (["--profile", "zipf"], r"unknown profile 'zipf'; choose from: exp, step, linear"),
        (["--ratio", "0.5"], r"`ratio` should be a finite number >= 1"),
        (["--epochs", "0"], r"`epochs` should be a positive integer"),
        (["--threads", "0"], r"`threads` should be a positive integer"),
        (["--seed", "-1"], r"`seed` should be a non-negative integer"),
        (["--device", "gpu7"], r"`device` should be a torch device such as 'cpu'"),
        (["--n-max", "500"], r"`n_max` should be at most 124 for the digits"),
        (["--root", "x"], r"--root is for --dataset mnist or fashionmnist"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["demo", "--quick", "--no-progress", "--out", str(tmp_path), *argv])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("balancers demo: error: ")
    assert __import__("re").search(message, lines[0])
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize("dataset", ["mnist", "fashionmnist"])
def test_root_without_files_says_where_they_go(
    dataset: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["demo", "--dataset", dataset, "--root", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    folder = "MNIST" if dataset == "mnist" else "FashionMNIST"
    assert f"{tmp_path}/{folder}/raw" in err
    assert "train-images-idx3-ubyte" in err
    code = main(["demo", "--dataset", dataset, "--root", str(tmp_path / "missing")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "is not a directory" in err
    assert f"{folder}/raw/" in err


@pytest.mark.parametrize("dataset", ["mnist", "fashionmnist"])
def test_real_28x28_sets(dataset: str, test_data_root: Path) -> None:
    result = run_demo(
        DemoConfig(
            dataset=dataset,
            root=test_data_root,
            quick=True,
            strategies="ce,weighted-sampler",
            epochs=1,
            progress=False,
        )
    )
    data = result.data
    assert data.train_counts == long_tail_counts(200, 10, 20)
    assert np.bincount(data.test_labels).tolist() == [100] * 10
    assert tuple(data.train_images.shape[1:]) == (28, 28)
    assert result.settings["model"] == "LeNet-5"
    assert [r.key for r in result.results] == ["ce", "weighted-sampler"]
    assert all(r.report.n_samples == 1000 for r in result.results)
