"""The ``balancers demo`` comparison: what imbalance costs a classifier and what each fix buys back.

A long-tailed training split of a real dataset (scikit-learn's bundled handwritten digits by
default; MNIST or Fashion-MNIST from a torchvision data root) and a balanced test split; the same
small network, from the same initial weights, trained once per balancing strategy; one table of
accuracy, balanced accuracy, few-shot accuracy and worst-class recall, a plot of per-class recall
and a JSON file of every number.

Each strategy is one entry of :data:`STRATEGIES`: a function that, given the training setup,
returns a :class:`Plan` saying which dataset and sampler feed each epoch and which loss it uses.

Guarantees:

* the same arguments give the same numbers (wall-clock times aside): the split, the model
  initialisation, the shuffling, the samplers and the augmentations all derive from ``seed``,
  and the global torch/numpy random state is left untouched (the model is built inside
  ``torch.random.fork_rng``);
* every strategy starts from the same initial weights and sees the same number of epochs.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler

from ._validation import check_choice, check_int, check_real, check_seed
from .metrics import ClassificationReport, classification_report

__all__ = [
    "DATASETS",
    "STRATEGIES",
    "DemoConfig",
    "DemoResult",
    "Plan",
    "Setup",
    "Strategy",
    "StrategyResult",
    "run_demo",
]

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashionmnist")
PROFILES: tuple[str, ...] = ("exp", "step", "linear")


# ------------------------------------------------------------------------------------ data


class ImageTensors(Dataset[tuple[torch.Tensor, int]]):
    """Grayscale uint8 images ``(N, H, W)`` with class ids, served as normalized float tensors.

    ``transform`` (uint8 ``(H, W)`` -> float ``(1, H, W)``) is an attribute, like torchvision's
    datasets, so :class:`balancers.augment.AugmentedDataset` can augment the raw uint8 image
    first and normalize after.
    """

    def __init__(self, data: torch.Tensor, targets: torch.Tensor, mean: float, std: float) -> None:
        self.data = data
        self.targets = targets
        self.transform: Callable[[torch.Tensor], torch.Tensor] | None = _Normalize(mean, std)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.data[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[i])


class _Normalize:
    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return ((image.to(torch.float32) / 255.0 - self.mean) / self.std).unsqueeze(0)


@dataclass(frozen=True)
class DemoData:
    """A long-tailed training split and a balanced test split of one dataset."""

    name: str
    description: str
    train_images: torch.Tensor  # uint8 (N, H, W)
    train_labels: npt.NDArray[np.int64]
    test_images: torch.Tensor
    test_labels: npt.NDArray[np.int64]
    classes: list[int]
    train_counts: list[int]
    test_per_class: int
    train_indices: npt.NDArray[np.int64]  # positions in the source training set
    test_indices: npt.NDArray[np.int64]  # positions in the source test set (digits: same set)

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    def normalization(self) -> tuple[float, float]:
        pixels = self.train_images.to(torch.float64) / 255.0
        return float(pixels.mean()), float(pixels.std())


def _digits_split(
    ratio: float, profile: str, seed: int, n_max: int | None, test_per_class: int | None
) -> DemoData:
    from sklearn.datasets import load_digits

    from .datasets import balanced_indices, long_tail_counts, long_tail_indices

    digits = load_digits()
    images = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    per_class = 50 if test_per_class is None else test_per_class
    test_idx = balanced_indices(labels, per_class, seed=seed)
    pool = np.setdiff1d(np.arange(labels.shape[0]), test_idx)
    available = int(np.bincount(labels[pool]).min())
    head = available if n_max is None else n_max
    if head > available:
        raise ValueError(
            f"`n_max` should be at most {available} for the digits (the smallest class has "
            f"{available} images left after the test split), but got n_max={head}."
        )
    counts = long_tail_counts(head, 10, ratio, profile)  # type: ignore[arg-type]
    train_idx = pool[long_tail_indices(labels[pool], counts, seed=seed)]
    return DemoData(
        name="digits",
        description="scikit-learn handwritten digits (8x8)",
        train_images=torch.from_numpy(images[train_idx]),
        train_labels=labels[train_idx],
        test_images=torch.from_numpy(images[test_idx]),
        test_labels=labels[test_idx],
        classes=list(range(10)),
        train_counts=[int(c) for c in counts],
        test_per_class=per_class,
        train_indices=train_idx.astype(np.int64),
        test_indices=test_idx.astype(np.int64),
    )


def _torchvision_split(
    name: str,
    root: Path,
    download: bool,
    ratio: float,
    profile: str,
    seed: int,
    n_max: int | None,
    test_per_class: int | None,
) -> DemoData:
    from .datasets import long_tail_split
    from .datasets._vision import load_source

    if not root.is_dir() and not download:
        raise FileNotFoundError(
            f"--root {str(root)!r} is not a directory: pass the data root that holds "
            f"{'MNIST' if name == 'mnist' else 'FashionMNIST'}/raw/ with the four uncompressed "
            "IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            "t10k-labels-idx1-ubyte), as torchvision lays them out."
        )
    train = load_source(name, root, train=True, download=download)
    test = load_source(name, root, train=False, download=download)
    split = long_tail_split(
        train,
        test,
        imbalance_ratio=ratio,
        profile=profile,  # type: ignore[arg-type]
        n_max=n_max,
        test_per_class="min" if test_per_class is None else test_per_class,
        seed=seed,
    )
    assert split.test_indices is not None
    train_idx = torch.from_numpy(split.train_indices)
    test_idx = torch.from_numpy(split.test_indices)
    test_labels = test.targets[test_idx].numpy().astype(np.int64)
    title = "MNIST" if name == "mnist" else "Fashion-MNIST"
    return DemoData(
        name=name,
        description=f"{title} (28x28)",
        train_images=train.data[train_idx],
        train_labels=train.targets[train_idx].numpy().astype(np.int64),
        test_images=test.data[test_idx],
        test_labels=test_labels,
        classes=[int(c) for c in split.classes],
        train_counts=[int(c) for c in split.counts],
        test_per_class=int(np.bincount(test_labels).max()),
        train_indices=split.train_indices,
        test_indices=split.test_indices,
    )


# ------------------------------------------------------------------------------------ models


def _small_cnn(n_classes: int) -> nn.Module:
    """A two-convolution network for 8x8 digits (about 40k parameters)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, n_classes),
    )


def _lenet(n_classes: int) -> nn.Module:
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, for 28x28 images."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, n_classes),
    )


def build_model(image_size: int, n_classes: int, seed: int) -> nn.Module:
    """The demo's network, initialised from ``seed`` without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _small_cnn(n_classes) if image_size <= 8 else _lenet(n_classes)


# ------------------------------------------------------------------------------------ strategies


@dataclass(frozen=True)
class Setup:
    """What a strategy needs to plan its training."""

    train: ImageTensors
    labels: npt.NDArray[np.int64]
    epochs: int
    seed: int


@dataclass(frozen=True)
class Plan:
    """How one strategy trains: per epoch, which dataset and sampler feed it and which loss.

    Attributes:
        dataset: the training dataset the loader reads.
        sampler: ``sampler(epoch)`` gives the loader's sampler, or None to shuffle ``dataset``.
        loss: ``loss(epoch)`` gives the loss module.
        on_epoch: called with the epoch number before each epoch (e.g. ``set_epoch``).
    """

    dataset: Dataset[Any]
    loss: Callable[[int], nn.Module]
    sampler: Callable[[int], Sampler[int] | None] = lambda epoch: None
    on_epoch: Sequence[Callable[[int], None]] = ()


@dataclass(frozen=True)
class Strategy:
    """One row of the comparison.

    Attributes:
        key: the name used by ``--strategies``.
        title: the row label.
        summary: one line for ``--help``.
        plan: builds the :class:`Plan` from the :class:`Setup`.
        extra: the optional dependency group it needs (``"augment"``), or None.
    """

    key: str
    title: str
    summary: str
    plan: Callable[[Setup], Plan]
    extra: str | None = None


def _ce(epoch: int) -> nn.Module:
    return nn.CrossEntropyLoss()


def _plain(setup: Setup) -> Plan:
    return Plan(setup.train, loss=_ce)


def _weighted_ce(setup: Setup) -> Plan:
    from ._weights import class_weights

    weight = class_weights(setup.labels, "inverse")
    return Plan(setup.train, loss=lambda epoch: nn.CrossEntropyLoss(weight=weight))


def _focal(setup: Setup) -> Plan:
    from .losses import FocalLoss

    return Plan(setup.train, loss=lambda epoch: FocalLoss(gamma=2.0))


def _sampler_plan(sampler: Any, setup: Setup) -> Plan:
    return Plan(setup.train, loss=_ce, sampler=lambda epoch: sampler, on_epoch=[sampler.set_epoch])


def _weighted_sampler(setup: Setup) -> Plan:
    from ._weights import sample_weights
    from .samplers import WeightedSampler

    return _sampler_plan(WeightedSampler(sample_weights(setup.labels), seed=setup.seed), setup)


def _sqrt_sampler(setup: Setup) -> Plan:
    from .samplers import ClassBalancedSampler

    return _sampler_plan(ClassBalancedSampler(setup.labels, q=0.5, seed=setup.seed), setup)


def _augment(setup: Setup) -> Plan:
    from .augment import AugmentedDataset, default_pipeline
    from .resample import random_oversample

    indices = random_oversample(setup.labels, seed=setup.seed)
    data = AugmentedDataset(
        setup.train, indices, default_pipeline(horizontal_flip=False), seed=setup.seed
    )
    return Plan(data, loss=_ce, on_epoch=[data.set_epoch])


def _deferred_stage(epochs: int) -> int:
    """First epoch of the second stage: the last 20% of training (160 of 200 in Cao et al.),
    at least one epoch."""
    return min(epochs - 1, max(1, round(0.8 * epochs)))


def _drw(setup: Setup) -> Plan:
    from ._weights import class_weights

    start = _deferred_stage(setup.epochs)
    weight = class_weights(setup.labels, "effective", beta=0.9999)

    def loss(epoch: int) -> nn.Module:
        return nn.CrossEntropyLoss(weight=weight if epoch >= start else None)

    return Plan(setup.train, loss=loss)


def _drs(setup: Setup) -> Plan:
    from .samplers import ClassBalancedSampler

    start = _deferred_stage(setup.epochs)
    sampler = ClassBalancedSampler(setup.labels, q=0.0, seed=setup.seed)
    return Plan(
        setup.train,
        loss=_ce,
        sampler=lambda epoch: sampler if epoch >= start else None,
        on_epoch=[sampler.set_epoch],
    )


STRATEGIES: dict[str, Strategy] = {
    s.key: s
    for s in (
        Strategy(
            "ce", "shuffle + CE", "uniform shuffling, plain cross-entropy (the baseline)", _plain
        ),
        Strategy(
            "weighted-ce",
            "class-weighted CE",
            "cross-entropy weighted by inverse class frequency (balancers.class_weights)",
            _weighted_ce,
        ),
        Strategy(
            "focal", "focal loss", "FocalLoss(gamma=2) (Lin et al. 2017), shuffled data", _focal
        ),
        Strategy(
            "weighted-sampler",
            "WeightedSampler",
            "draws with probability 1/n_class (balancers.WeightedSampler + sample_weights)",
            _weighted_sampler,
        ),
        Strategy(
            "sqrt-sampler",
            "ClassBalancedSampler q=0.5",
            "square-root sampling: class drawn with probability ~ n_c^0.5 (Kang et al. 2020)",
            _sqrt_sampler,
        ),
        Strategy(
            "augment",
            "oversample + augment",
            "random_oversample to balance, each clone augmented (balancers.augment)",
            _augment,
            extra="augment",
        ),
        Strategy(
            "drw",
            "deferred re-weighting",
            "DRW (Cao et al. 2019): plain CE, then class-balanced (effective-number) weights "
            "for the last 20% of epochs",
            _drw,
        ),
        Strategy(
            "drs",
            "deferred class-balanced sampling",
            "DRS (Cao et al. 2019): shuffling, then ClassBalancedSampler(q=0) for the last 20% "
            "of epochs",
            _drs,
        ),
    )
}


def _has_extra(extra: str | None) -> bool:
    if extra is None:
        return True
    import importlib.util

    module = {"augment": "albumentations", "plot": "matplotlib"}[extra]
    return importlib.util.find_spec(module) is not None


def resolve_strategies(names: str | Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The strategies to run and the notes about any left out.

    ``None`` means every strategy whose optional dependencies are installed (the others are named
    in the notes); a comma-separated string or a sequence names them explicitly.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        ImportError: an explicitly named strategy needs a missing extra.
    """
    from ._optional import import_optional

    if names is None:
        chosen = [k for k, s in STRATEGIES.items() if _has_extra(s.extra)]
        notes = [
            f"strategy {k!r} skipped: it needs the {s.extra!r} extra "
            f'(pip install "balancers[{s.extra}]")'
            for k, s in STRATEGIES.items()
            if not _has_extra(s.extra)
        ]
        return chosen, notes
    items = names.split(",") if isinstance(names, str) else list(names)
    chosen = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if item not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {item!r}; choose from: {', '.join(STRATEGIES)} "
                "(comma-separated)."
            )
        if item not in chosen:
            chosen.append(item)
    if not chosen:
        raise ValueError(f"no strategy given; choose from: {', '.join(STRATEGIES)}.")
    for key in chosen:
        extra = STRATEGIES[key].extra
        if extra is not None and not _has_extra(extra):
            import_optional({"augment": "albumentations"}[extra], extra=extra)
    return chosen, []


# ------------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class DemoConfig:
    """Parameters of a demo run (``None`` picks the dataset's default, see :func:`run_demo`)."""

    dataset: str = "digits"
    root: Path | None = None
    download: bool = False
    ratio: float = 20.0
    profile: str = "exp"
    strategies: str | Sequence[str] | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    n_max: int | None = None
    test_per_class: int | None = None
    seed: int = 0
    device: str = "cpu"
    threads: int = 1
    quick: bool = False
    progress: bool = True


#: defaults per dataset: (epochs, batch size, learning rate, n_max); --quick overrides.
_DEFAULTS: dict[str, tuple[int, int, float, int | None]] = {
    "digits": (30, 32, 0.05, None),
    "mnist": (8, 64, 0.05, 1000),
    "fashionmnist": (8, 64, 0.05, 1000),
}
_QUICK: dict[str, tuple[int, int | None, int | None]] = {
    # epochs, n_max, test_per_class
    "digits": (4, None, None),
    "mnist": (2, 200, 100),
    "fashionmnist": (2, 200, 100),
}


@dataclass
class StrategyResult:
    """The outcome of training with one strategy."""

    key: str
    title: str
    report: ClassificationReport
    seconds: float
    final_loss: float

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "title": self.title,
            "accuracy": r.accuracy,
            "balanced_accuracy": r.balanced_accuracy,
            "few_shot_accuracy": r.few_shot_accuracy,
            "worst_class_recall": r.worst_class_recall,
            "worst_class": r.worst_class,
            "per_class_recall": list(r.recall),
            "final_train_loss": self.final_loss,
            "seconds": self.seconds,
            "report": r.to_dict(),
        }


@dataclass
class DemoResult:
    """Every number of a demo run, with the table, the plot and the JSON export."""

    data: DemoData
    settings: dict[str, Any]
    results: list[StrategyResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def header(self) -> str:
        d, s = self.data, self.settings
        counts = d.train_counts
        return (
            f"{d.description}: long-tailed train set of {sum(counts)} images "
            f"({s['profile']} profile, ratio {s['ratio']:g}: {counts[0]} ... {counts[-1]} per "
            f"class), balanced test set of {d.test_labels.shape[0]} ({d.test_per_class} per "
            f"class); {s['epochs']} epochs, batch {s['batch_size']}, seed {s['seed']}, "
            f"device {s['device']}"
        )

    def table(self) -> str:
        header = [
            "strategy",
            "accuracy",
            "balanced acc",
            "few-shot acc",
            "worst-class recall",
            "time",
        ]
        rows = []
        for res in self.results:
            r = res.report
            few = "-" if r.few_shot_accuracy is None else f"{r.few_shot_accuracy:.3f}"
            rows.append(
                [
                    res.title,
                    f"{r.accuracy:.3f}",
                    f"{r.balanced_accuracy:.3f}",
                    few,
                    f"{r.worst_class_recall:.3f} (class {r.worst_class})",
                    f"{res.seconds:.1f}s",
                ]
            )
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        lines = [
            "  ".join(
                [
                    f"{header[0]:<{widths[0]}}",
                    *(f"{h:>{w}}" for h, w in zip(header[1:], widths[1:], strict=True)),
                ]
            )
        ]
        for row in rows:
            lines.append(
                "  ".join(
                    [
                        f"{row[0]:<{widths[0]}}",
                        *(f"{c:>{w}}" for c, w in zip(row[1:], widths[1:], strict=True)),
                    ]
                )
            )
        return "\n".join(lines)

    def shot_note(self) -> str:
        if not self.results:
            return ""
        groups = self.results[0].report.shot_groups()
        r = self.results[0].report
        return (
            f"few-shot: classes with fewer than {r.few:g} training images {groups['few']}; "
            f"many-shot: more than {r.many:g} {groups['many']}; the test set is balanced, so "
            "accuracy equals balanced accuracy."
        )

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        return {
            "dataset": self.data.name,
            "description": self.data.description,
            "settings": dict(self.settings),
            "classes": list(self.data.classes),
            "train_counts": list(self.data.train_counts),
            "test_per_class": self.data.test_per_class,
            "train_indices": self.data.train_indices.tolist(),
            "test_indices": self.data.test_indices.tolist(),
            "strategies": {res.key: res.to_dict() for res in self.results},
            "versions": {
                "balancers": __version__,
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
        }

    def plot(self) -> Any:
        """Per-class recall by strategy (lines) over the training counts (bars, log scale)."""
        from ._optional import import_optional

        figure_mod = import_optional("matplotlib.figure", extra="plot")
        fig = figure_mod.Figure(figsize=(10.0, 5.6), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(self.data.classes))
        counts_ax = ax.twinx()
        counts_ax.bar(x, self.data.train_counts, color="#dddddd", width=0.6, zorder=0)
        counts_ax.set_yscale("log")
        counts_ax.set_ylabel("training images (log scale)", color="#777777")
        ax.set_zorder(counts_ax.get_zorder() + 1)
        ax.patch.set_visible(False)
        markers = "osD^v<>ph*"
        for i, res in enumerate(self.results):
            ax.plot(x, res.report.recall, marker=markers[i % len(markers)], label=res.title)
        ax.set_xticks(
            x,
            [f"{c}\n({n})" for c, n in zip(self.data.classes, self.data.train_counts, strict=True)],
        )
        ax.set_xlabel("class (training images)")
        ax.set_ylabel("recall on the balanced test set")
        ax.set_ylim(0.0, 1.02)
        ax.grid(axis="y", alpha=0.3)
        fig.legend(loc="outside lower center", ncols=4, fontsize="small", frameon=False)
        s = self.settings
        ax.set_title(
            f"Per-class recall by strategy: {self.data.description}, {s['profile']} long tail, "
            f"ratio {s['ratio']:g}"
        )
        return fig

    def save(self, out: Path) -> list[Path]:
        """Write ``results.json`` and (with matplotlib) ``recall_by_class.png``; return paths."""
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / "results.json"
        json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        written = [json_path]
        if _has_extra("plot"):
            png = out / "recall_by_class.png"
            self.plot().savefig(png, dpi=120)
            written.append(png)
        else:
            self.notes.append('plot skipped: it needs matplotlib (pip install "balancers[plot]")')
        return written


def _check_device(device: Any) -> torch.device:
    if not isinstance(device, str):
        raise TypeError(f"`device` should be a string such as 'cpu' or 'cuda', but got {device!r}.")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"`device` should be a torch device such as 'cpu', 'cuda' or 'cuda:1', but got "
            f"device={device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"`device` is {device!r}, but CUDA is not available here; use --device cpu."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"`device` is {device!r}, but MPS is not available here; use --device cpu."
        )
    return dev


def _train_one(
    strategy: Strategy,
    setup: Setup,
    data: DemoData,
    *,
    batch_size: int,
    lr: float,
    device: torch.device,
    progress: bool,
    few: float,
    many: float,
) -> StrategyResult:
    from tqdm.auto import tqdm

    start = time.perf_counter()
    plan = strategy.plan(setup)
    model = build_model(data.image_size, len(data.classes), setup.seed).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=setup.epochs)
    generator = torch.Generator().manual_seed(setup.seed)
    shuffle = RandomSampler(plan.dataset, generator=generator)  # type: ignore[arg-type]
    # the loader draws a worker base seed per epoch: from its own generator, not the global one
    loader_generator = torch.Generator().manual_seed(setup.seed)
    last = float("nan")
    with tqdm(
        total=setup.epochs,
        desc=f"{strategy.title:<32}",
        disable=not progress,
        leave=True,
        unit="epoch",
    ) as bar:
        for epoch in range(setup.epochs):
            for hook in plan.on_epoch:
                hook(epoch)
            sampler = plan.sampler(epoch)
            loader = DataLoader(
                plan.dataset,
                batch_size=batch_size,
                sampler=sampler or shuffle,
                generator=loader_generator,
            )
            criterion = plan.loss(epoch).to(device)
            model.train()
            total, seen = 0.0, 0
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                loss = criterion(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * int(y.shape[0])
                seen += int(y.shape[0])
            last = total / max(seen, 1)
            bar.set_postfix(loss=f"{last:.3f}")
            schedule.step()
            bar.update(1)
    predictions = _predict(model, data, device)
    report = classification_report(
        data.test_labels,
        predictions,
        labels=data.classes,
        train_counts=data.train_counts,
        many=many,
        few=few,
    )
    return StrategyResult(strategy.key, strategy.title, report, time.perf_counter() - start, last)


@torch.no_grad()
def _predict(model: nn.Module, data: DemoData, device: torch.device) -> npt.NDArray[np.int64]:
    model.eval()
    mean, std = data.normalization()
    normalize = _Normalize(mean, std)
    out = []
    for chunk in torch.split(data.test_images, 2048):
        x = ((chunk.to(torch.float32) / 255.0 - normalize.mean) / normalize.std).unsqueeze(1)
        out.append(model(x.to(device)).argmax(dim=1).cpu())
    return torch.cat(out).numpy().astype(np.int64)


def shot_thresholds(train_counts: Sequence[int], ratio: float) -> tuple[float, float]:
    """``(many, few)``: the log-count range of the long tail cut in thirds.

    Many-shot classes have more than ``n_max * ratio**(-1/3)`` training images, few-shot classes
    fewer than ``n_max * ratio**(-2/3)`` (for an exponential profile with ratio 20 and 10
    classes: the three largest and the three smallest classes).
    """
    n_max = max(train_counts)
    return round(n_max * ratio ** (-1 / 3), 1), round(n_max * ratio ** (-2 / 3), 1)


def run_demo(config: DemoConfig, *, log: Callable[[str], None] | None = None) -> DemoResult:
    """Run the comparison described by ``config`` and return every number.

    Raises:
        ValueError: unknown dataset, strategy or profile; a bad ratio, epochs or device.
        FileNotFoundError: MNIST/Fashion-MNIST files are not under ``root`` (the message says
            where they go).
        ImportError: an explicitly requested strategy needs a missing extra.
    """
    dataset = check_choice(config.dataset, "dataset", DATASETS)
    profile = check_choice(config.profile, "profile", PROFILES)
    ratio = check_real(config.ratio, "ratio", low=1.0, hint="It is n_max / n_min, e.g. 20.")
    seed = check_seed(config.seed)
    assert ratio is not None and seed is not None
    keys, notes = resolve_strategies(config.strategies)
    device = _check_device(config.device)
    epochs0, batch0, lr0, n_max0 = _DEFAULTS[dataset]
    q_epochs, q_n_max, q_test = _QUICK[dataset]
    if config.quick:
        epochs0, n_max0 = q_epochs, q_n_max if q_n_max is not None else n_max0
    epochs = check_int(config.epochs if config.epochs is not None else epochs0, "epochs", minimum=1)
    batch_size = check_int(
        config.batch_size if config.batch_size is not None else batch0, "batch_size", minimum=1
    )
    lr = check_real(config.lr if config.lr is not None else lr0, "lr", low=0.0, low_inclusive=False)
    n_max = check_int(
        config.n_max if config.n_max is not None else n_max0, "n_max", minimum=1, allow_none=True
    )
    test_per_class = check_int(
        config.test_per_class
        if config.test_per_class is not None
        else (q_test if config.quick else None),
        "test_per_class",
        minimum=1,
        allow_none=True,
    )
    threads = check_int(
        config.threads,
        "threads",
        minimum=1,
        hint="Small networks train fastest on 1 thread; more threads help LeNet on MNIST a bit.",
    )
    assert epochs is not None and batch_size is not None and lr is not None and threads is not None
    if dataset == "digits":
        data = _digits_split(ratio, profile, seed, n_max, test_per_class)
    else:
        root = Path(config.root) if config.root is not None else Path("datasets")
        data = _torchvision_split(
            dataset, root, bool(config.download), ratio, profile, seed, n_max, test_per_class
        )
    mean, std = data.normalization()
    train = ImageTensors(data.train_images, torch.from_numpy(data.train_labels), mean, std)
    setup = Setup(train=train, labels=data.train_labels, epochs=epochs, seed=seed)
    many, few = shot_thresholds(data.train_counts, ratio)
    settings = {
        "dataset": dataset,
        "ratio": ratio,
        "profile": profile,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "device": str(device),
        "threads": threads,
        "quick": bool(config.quick),
        "strategies": keys,
        "many": many,
        "few": few,
        "optimizer": "SGD(momentum=0.9, weight_decay=5e-4), cosine learning-rate decay",
        "model": "small CNN (2 conv + 2 linear)" if data.image_size <= 8 else "LeNet-5",
    }
    result = DemoResult(data=data, settings=settings, notes=list(notes))
    if log is not None:
        log(result.header())
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for key in keys:
            result.results.append(
                _train_one(
                    STRATEGIES[key],
                    setup,
                    data,
                    batch_size=batch_size,
                    lr=lr,
                    device=device,
                    progress=config.progress,
                    few=few,
                    many=many,
                )
            )
    finally:
        torch.set_num_threads(previous_threads)
    return result


def strategy_help(lines: Iterable[Strategy] | None = None) -> str:
    """One line per strategy, for ``--help``."""
    items = list(STRATEGIES.values()) if lines is None else list(lines)
    width = max(len(s.key) for s in items)
    return "\n".join(f"  {s.key:<{width}}  {s.summary}" for s in items)
