"""Train on a long-tailed image dataset with a balancers sampler and/or an imbalance-aware loss.

Datasets: MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 (torchvision files under ``--root``),
long-tailed by :mod:`balancers.datasets` (``--ratio``, ``--profile``), or with only some classes
cut (``--minority-classes 6 --ratio 100`` keeps every class whole except digit 6, cut to 1/100).
Strategies:

* ``--sampler``: ``none`` (shuffle), ``weighted`` (:class:`balancers.WeightedSampler` with
  inverse-frequency weights), ``sqrt`` / ``balanced`` (:class:`balancers.ClassBalancedSampler`
  with q=0.5 / q=0), ``progressive`` (:class:`balancers.ProgressivelyBalancedSampler`),
  ``class-aware`` (:class:`balancers.ClassAwareSampler`), ``augment``
  (:func:`balancers.augment.oversample_with_augmentation`: random oversampling whose clones go
  through an augmentation pipeline);
* ``--loss``: ``ce``, ``focal`` (:class:`balancers.losses.FocalLoss`, gamma 2, optional
  ``--focal-alpha CLASS=WEIGHT``), ``cb-ce`` / ``cb-focal`` (class-balanced weights of Cui et
  al. 2019, ``balancers.class_weights(..., "effective")``); ``--drw EPOCH`` defers the
  class-balanced weights to that epoch (Cao et al. 2019).

Each run writes a JSON (per-class recall, accuracy, balanced accuracy, many/medium/few-shot
accuracy, images/s and the input pipeline's share of the time) and a confusion-matrix PNG.
``--grid`` runs every ``--samplers`` x ``--losses`` pair for every ``--seeds`` and writes one
markdown table (mean ± std over seeds), a JSON and a per-class recall plot.

On CUDA the data stay on the GPU when they fit, and AMP and channels-last are on (``--no-amp``,
``--no-channels-last``, ``--data-on host`` turn them off). CIFAR uses the standard long-tail
schedule (ResNet-32, SGD 0.1, momentum 0.9, weight decay 2e-4, batch 128, 200 epochs, linear
warm-up for 5 epochs, lr x0.01 at epoch 160 and x0.0001 at 180) unless overridden.

Examples::

    python examples/train_longtail.py --dataset mnist --root ../shared/data --ratio 100 \\
        --sampler balanced --loss ce --epochs 5
    python examples/train_longtail.py --dataset cifar10 --root datasets --ratio 100 \\
        --sampler none --loss ce --drw 160

References:
    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019.
    Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
    NeurIPS 2019. Kang et al., "Decoupling Representation and Classifier for Long-Tailed
    Recognition", ICLR 2020. Buda et al., "A systematic study of the class imbalance problem in
    convolutional neural networks", Neural Networks 2018.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ImageTensors,
    LeNet,
    ResNet32,
    Runtime,
    command_line,
    device_generator,
    fmt_mean_std,
    git_revision,
    hardware,
    index_batches,
    markdown_table,
    normalize,
    place_data,
    predict,
    random_affine,
    random_crop_flip,
    save_figure,
    setup_runtime,
    to_nchw,
    train_epoch,
    use_agg_backend,
    write_json,
)
from torchvision.datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST

import balancers
from balancers.datasets import (
    CIFAR10LT,
    CIFAR100LT,
    MNISTLT,
    FashionMNISTLT,
    long_tail_indices,
)
from balancers.losses import FocalLoss
from balancers.metrics import classification_report

SAMPLERS = ("none", "weighted", "sqrt", "balanced", "progressive", "class-aware", "augment")
LOSSES = ("ce", "focal", "cb-ce", "cb-focal")
DATASETS = ("mnist", "fashionmnist", "cifar10", "cifar100")

# mean and std of the full training sets
_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashionmnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_LT = {
    "mnist": MNISTLT,
    "fashionmnist": FashionMNISTLT,
    "cifar10": CIFAR10LT,
    "cifar100": CIFAR100LT,
}
_FULL = {"mnist": MNIST, "fashionmnist": FashionMNIST, "cifar10": CIFAR10, "cifar100": CIFAR100}


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


@dataclass
class Data:
    """A long-tailed training set and a test set, as uint8 NCHW tensors in memory."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def counts(self) -> list[int]:
        return np.bincount(self.train_y.numpy(), minlength=self.num_classes).tolist()

    @property
    def is_cifar(self) -> bool:
        return self.name.startswith("cifar")


def load_data(args: argparse.Namespace) -> Data:
    """The long-tailed training set (or the ``--minority-classes`` cut) and the test set."""
    cls = _LT[args.dataset]
    if args.minority_classes:
        full = _FULL[args.dataset]
        source = full(args.root, train=True, download=args.download)
        labels = np.asarray(source.targets, dtype=np.int64)
        counts = np.bincount(labels)
        for c in args.minority_classes:
            counts[c] = int(counts[c] / args.ratio)
        keep = long_tail_indices(labels, counts, seed=args.split_seed)
        train_x, train_y = to_nchw(source.data)[keep], torch.from_numpy(labels[keep])
        test = full(args.root, train=False, download=args.download)
        test_x = to_nchw(test.data)
        test_y = torch.as_tensor(np.asarray(test.targets, dtype=np.int64))
        classes = list(source.classes)
    else:
        common = {
            "imbalance_ratio": args.ratio,
            "profile": args.profile,
            "seed": args.split_seed,
            "download": args.download,
        }
        train = cls(args.root, split="train", **common)
        test = cls(args.root, split="test", **common)
        train_x, test_x = to_nchw(train.data), to_nchw(test.data)
        train_y = torch.as_tensor(np.asarray(train.targets, dtype=np.int64))
        test_y = torch.as_tensor(np.asarray(test.targets, dtype=np.int64))
        classes = list(train.classes)
    if args.limit_train:
        pick = np.sort(
            np.random.default_rng(args.split_seed).permutation(len(train_y))[: args.limit_train]
        )
        train_x, train_y = train_x[pick], train_y[pick]
    if args.limit_test:
        test_x, test_y = test_x[: args.limit_test], test_y[: args.limit_test]
    mean, std = _STATS[args.dataset]
    return Data(args.dataset, train_x, train_y, test_x, test_y, classes, mean, std)


# ---------------------------------------------------------------------------------------------
# the input pipeline of one strategy
# ---------------------------------------------------------------------------------------------


class Feeder:
    """Turns a sampler's epoch sequence into normalized batches on the device.

    * in-memory samplers: ``sampler.rank_indices(epoch)`` gathered from the (GPU-resident when
      possible) uint8 tensors, one indexing operation per batch;
    * ``augment`` with ``--augment-backend loader``: a ``DataLoader`` with workers over
      :class:`balancers.augment.AugmentedDataset` (albumentations on each clone);
    * ``augment`` with ``--augment-backend device``: the same index multiset and clone mask, the
      clones augmented in batch on the device by :func:`_common.random_affine`.
    """

    def __init__(self, args: argparse.Namespace, data: Data, runtime: Runtime, seed: int) -> None:
        self.args, self.data, self.runtime, self.seed = args, data, runtime, seed
        self.x, self.y = place_data([data.train_x, data.train_y], runtime, args.data_on)
        labels = data.train_y.numpy()
        self.loader: torch.utils.data.DataLoader[Any] | None = None
        self.augmented: torch.Tensor | None = None
        self.multiset: torch.Tensor | None = None
        name = args.sampler
        if name == "none":
            self.sampler: Any = balancers.ResampledSampler(np.arange(labels.size), seed=seed)
        elif name == "weighted":
            weights = balancers.sample_weights(labels, "inverse")
            self.sampler = balancers.WeightedSampler(weights, seed=seed)
        elif name in ("sqrt", "balanced"):
            q = 0.5 if name == "sqrt" else 0.0
            self.sampler = balancers.ClassBalancedSampler(labels, q=q, seed=seed)
        elif name == "progressive":
            self.sampler = balancers.ProgressivelyBalancedSampler(
                labels, epochs=args.epochs, seed=seed
            )
        elif name == "class-aware":
            self.sampler = balancers.ClassAwareSampler(labels, seed=seed)
        elif name == "augment":
            self._setup_augment()
        else:  # pragma: no cover - argparse restricts the choices
            raise ValueError(f"unknown sampler {name!r}")

    def _setup_augment(self) -> None:
        from balancers.augment import default_pipeline, oversample_with_augmentation

        pipeline = default_pipeline(horizontal_flip=self.data.is_cifar)
        source = ImageTensors(self.data.train_x, self.data.train_y)
        dataset = oversample_with_augmentation(source, pipeline, seed=self.seed)
        self.dataset = dataset
        positions = np.arange(len(dataset))
        size = len(self.data.train_y) if self.args.augment_epoch == "dataset" else None
        self.sampler = balancers.ResampledSampler(positions, num_samples=size, seed=self.seed)
        if self.args.augment_backend == "loader":
            workers = self.args.workers
            self.loader = torch.utils.data.DataLoader(
                dataset,
                batch_size=self.args.batch_size,
                sampler=self.sampler,
                num_workers=workers,
                persistent_workers=workers > 0,
                pin_memory=self.runtime.device.type == "cuda",
            )
        else:
            dev = self.x.device
            self.multiset = torch.as_tensor(np.array(dataset.indices), device=dev)
            self.augmented = torch.as_tensor(np.array(dataset.augmented), device=dev)

    @property
    def epoch_size(self) -> int:
        return len(self.sampler)

    def batches(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        dev = self.runtime.device
        gen = device_generator(dev, self.seed, epoch, 1)
        crop_gen = device_generator(dev, self.seed, epoch, 2)
        if self.loader is not None:
            self.dataset.set_epoch(epoch)
            self.sampler.set_epoch(epoch)
            for images, targets in self.loader:
                images = images.to(dev, non_blocking=True)
                yield self._finish(images, crop_gen), targets.to(dev, non_blocking=True)
            return
        order = torch.as_tensor(self.sampler.rank_indices(epoch), device=self.x.device)
        for batch in index_batches(order, self.args.batch_size):  # type: ignore[arg-type]
            if self.multiset is not None:
                assert self.augmented is not None
                idx, clone = self.multiset[batch], self.augmented[batch]
                images = self.x[idx].to(dev, non_blocking=True).float().div_(255.0)
                if bool(clone.any()):
                    images[clone] = random_affine(images[clone], gen)
                images = images.mul_(255.0)
            else:
                idx = batch
                images = self.x[idx].to(dev, non_blocking=True)
            targets = self.y[idx].to(dev, non_blocking=True)
            yield self._finish(images, crop_gen), targets

    def _finish(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = normalize(images, self.data.mean, self.data.std)
        if self.data.is_cifar and not self.args.no_standard_augment:
            x = random_crop_flip(x, gen)
        return x


# ---------------------------------------------------------------------------------------------
# losses, models, schedule
# ---------------------------------------------------------------------------------------------


def focal_alpha(spec: Sequence[str] | None, num_classes: int) -> torch.Tensor | None:
    """``["6=100"]`` -> weights 1 everywhere and 100 on class 6."""
    if not spec:
        return None
    alpha = torch.ones(num_classes)
    for item in spec:
        cls, _, weight = item.partition("=")
        alpha[int(cls)] = float(weight)
    return alpha


def make_loss(args: argparse.Namespace, counts: Sequence[int], epoch: int) -> nn.Module:
    """The loss of ``epoch`` (DRW switches the class-balanced weights on at ``--drw``)."""
    cb = balancers.class_weights(counts_to_labels(counts), "effective", beta=args.beta)
    deferred = args.drw is not None and epoch < args.drw
    weighted = args.loss.startswith("cb-") or args.drw is not None
    weight = cb if weighted and not deferred else None
    if args.loss in ("focal", "cb-focal"):
        alpha = focal_alpha(args.focal_alpha, len(counts))
        if weight is not None:
            alpha = weight if alpha is None else alpha * weight
        return FocalLoss(args.gamma, alpha=alpha)
    return nn.CrossEntropyLoss(weight=weight)


def counts_to_labels(counts: Sequence[int]) -> npt.NDArray[np.int64]:
    return np.repeat(np.arange(len(counts)), counts)


def make_model(args: argparse.Namespace, data: Data) -> nn.Module:
    channels, size = int(data.train_x.shape[1]), int(data.train_x.shape[-1])
    if args.arch == "resnet32":
        return ResNet32(data.num_classes, in_channels=channels)
    return LeNet(data.num_classes, in_channels=channels, size=size, activation=args.activation)


def cifar_lr(
    epoch: int, step: int, steps_per_epoch: int, base: float, args: argparse.Namespace
) -> float:
    """Linear warm-up over ``--warmup`` epochs, then x0.01 at ``--decay[0]``, x0.0001 at [1]."""
    t = epoch + step / max(steps_per_epoch, 1)
    if t < args.warmup:
        return base * (t + 1.0 / max(steps_per_epoch, 1)) / args.warmup
    if epoch >= args.decay[1]:
        return base * 1e-4
    if epoch >= args.decay[0]:
        return base * 1e-2
    return base


# ---------------------------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------------------------


def run_name(args: argparse.Namespace, seed: int) -> str:
    parts = [args.dataset, args.sampler, args.loss]
    if args.drw is not None:
        parts.append(f"drw{args.drw}")
    return "_".join(parts) + f"_seed{seed}"


def train_one(
    args: argparse.Namespace, data: Data, runtime: Runtime, seed: int, *, confusion: bool = True
) -> dict[str, Any]:
    """Train with one strategy and seed; evaluate on the test set; write JSON (+ PNG)."""
    torch.manual_seed(seed)
    model = runtime.prepare_model(make_model(args, data))
    if args.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(
            model.parameters(), lr=args.lr, weight_decay=args.weight_decay
        )
    else:
        opt = torch.optim.SGD(
            model.parameters(),
            lr=args.lr,
            momentum=args.momentum,
            weight_decay=args.weight_decay,
        )
    feeder = Feeder(args, data, runtime, seed)
    counts = data.counts
    steps = -(-feeder.epoch_size // args.batch_size)
    history = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        loss_fn = make_loss(args, counts, epoch).to(runtime.device)
        step = [0]

        def schedule(epoch: int = epoch, step: list[int] = step) -> None:
            if args.schedule == "cifar":
                for group in opt.param_groups:
                    group["lr"] = cifar_lr(epoch, step[0], steps, args.lr, args)
            step[0] += 1

        stats = train_epoch(
            model, feeder.batches(epoch), loss_fn, opt, runtime, before_step=schedule
        )
        history.append(
            {
                "epoch": epoch,
                "loss": stats.loss,
                "images": stats.images,
                "seconds": round(stats.seconds, 3),
                "input_seconds": round(stats.input_seconds, 3),
                "images_per_second": round(stats.images_per_second, 1),
            }
        )
        if args.verbose:
            print(
                f"  epoch {epoch + 1}/{args.epochs} loss {stats.loss:.4f} "
                f"{stats.images_per_second:.0f} img/s (input {stats.input_seconds:.1f}s of "
                f"{stats.seconds:.1f}s)",
                flush=True,
            )
    train_seconds = time.perf_counter() - started

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return normalize(x, data.mean, data.std)

    logits = predict(model, data.test_x, prepare, runtime)
    y_pred = logits.argmax(1).numpy()
    y_true = data.test_y.numpy()
    report = classification_report(
        y_true,
        y_pred,
        train_counts=counts,
        many=args.many,
        few=args.few,
        labels=list(range(data.num_classes)),
    )
    images = sum(h["images"] for h in history)
    input_seconds = sum(h["input_seconds"] for h in history)
    result = {
        "name": run_name(args, seed),
        "dataset": args.dataset,
        "sampler": args.sampler,
        "loss": args.loss,
        "drw": args.drw,
        "seed": seed,
        "arch": args.arch,
        "activation": args.activation,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "ratio": args.ratio,
        "profile": args.profile,
        "minority_classes": args.minority_classes,
        "focal_alpha": args.focal_alpha,
        "augment_backend": args.augment_backend if args.sampler == "augment" else None,
        "train_counts": counts,
        "train_size": int(data.train_y.numel()),
        "test_size": int(data.test_y.numel()),
        "accuracy": report.accuracy,
        "balanced_accuracy": report.balanced_accuracy,
        "macro_f1": report.macro_f1,
        "many_shot_accuracy": report.many_shot_accuracy,
        "medium_shot_accuracy": report.medium_shot_accuracy,
        "few_shot_accuracy": report.few_shot_accuracy,
        "worst_class": report.worst_class,
        "worst_class_recall": report.worst_class_recall,
        "recall": report.recall,
        "precision": report.precision,
        "confusion": report.confusion.tolist(),
        "train_seconds": round(train_seconds, 2),
        "images_per_second": round(images / max(train_seconds, 1e-9), 1),
        "input_fraction": round(input_seconds / max(train_seconds, 1e-9), 3),
        "history": history,
        "runtime": runtime.describe(),
        "hardware": hardware(),
        "command": command_line(),
        "git": git_revision(),
    }
    out = Path(args.out)
    write_json(out / "runs" / f"{result['name']}.json", result)
    if confusion:
        fig = report.plot_confusion_matrix()
        fig.axes[0].set_title(f"{args.dataset}: {args.sampler} + {args.loss} (seed {seed})")
        save_figure(fig, out / "runs" / f"{result['name']}_confusion.png")
    return result


# ---------------------------------------------------------------------------------------------
# grid
# ---------------------------------------------------------------------------------------------


def strategy_label(result: dict[str, Any]) -> str:
    label = f"{result['sampler']} + {result['loss']}"
    if result.get("focal_alpha") and result["loss"] in ("focal", "cb-focal"):
        label += " (alpha " + ",".join(result["focal_alpha"]) + ")"
    if result.get("drw") is not None:
        label += f" + DRW@{result['drw']}"
    return label


def shot_accuracy(result: dict[str, Any], group: str, many: float, few: float) -> float | None:
    """Mean recall of the many- (> many), medium- or few-shot (< few) classes of a run."""
    counts = np.asarray(result["train_counts"])
    recall = np.asarray(result["recall"])
    mask = {
        "many": counts > many,
        "medium": (counts >= few) & (counts <= many),
        "few": counts < few,
    }[group]
    return float(recall[mask].mean()) if mask.any() else None


def grid_table(
    results: list[dict[str, Any]], focus: Sequence[int], many: float = 100, few: float = 20
) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(strategy_label(r), []).append(r)
    header = ["sampler + loss", "accuracy", "balanced acc."]
    header += [f"recall {c}" for c in focus]
    header += [f"many (>{many:g})", "medium", f"few (<{few:g})", "worst recall"]
    header += ["input share", "seeds"]
    rows = []
    for label, runs in groups.items():
        row = [label, fmt_mean_std([r["accuracy"] for r in runs])]
        row.append(fmt_mean_std([r["balanced_accuracy"] for r in runs]))
        row += [fmt_mean_std([r["recall"][c] for r in runs]) for c in focus]
        for group in ("many", "medium", "few"):
            row.append(fmt_mean_std([shot_accuracy(r, group, many, few) for r in runs]))
        row.append(fmt_mean_std([r["worst_class_recall"] for r in runs]))
        row.append(f"{np.mean([r['input_fraction'] for r in runs]):.0%}")
        row.append(str(len(runs)))
        rows.append(row)
    return markdown_table(header, rows)


def plot_recall(results: list[dict[str, Any]], classes: Sequence[str], title: str) -> Any:
    """Mean per-class recall of each strategy (one line each)."""
    import matplotlib.pyplot as plt

    groups: dict[str, list[list[float]]] = {}
    for r in results:
        groups.setdefault(strategy_label(r), []).append(r["recall"])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(classes) + 3), 4.5))
    x = np.arange(len(classes))
    colors = plt.get_cmap("tab20").colors
    for k, (label, recalls) in enumerate(groups.items()):
        style = "-" if k < 10 else "--"
        ax.plot(x, np.mean(recalls, axis=0), style, marker="o", color=colors[k % 20], label=label)
    ax.set_xticks(x)
    ax.set_xticklabels([str(c).split(" - ")[0] for c in classes], rotation=45, ha="right")
    ax.set_ylabel("test recall (mean over seeds)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return fig


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------


def _csv(choices: Sequence[str]) -> Any:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)}; got {text!r}")
        return items

    return parse


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=DATASETS, default="mnist")
    p.add_argument("--root", default="datasets", help="torchvision data root")
    p.add_argument("--download", action="store_true", help="let torchvision download the files")
    p.add_argument("--ratio", type=float, default=100.0, help="imbalance ratio n_max / n_min")
    p.add_argument("--profile", choices=("exp", "step", "linear"), default="exp")
    p.add_argument(
        "--minority-classes",
        type=int,
        nargs="+",
        default=None,
        metavar="CLASS",
        help="keep every class whole except these, cut to 1/ratio (overrides --profile)",
    )
    p.add_argument("--split-seed", type=int, default=0, help="seed of the long-tailed subset")
    p.add_argument("--sampler", choices=SAMPLERS, default="none")
    p.add_argument("--loss", choices=LOSSES, default="ce")
    p.add_argument("--drw", type=int, default=None, metavar="EPOCH", help="deferred re-weighting")
    p.add_argument("--beta", type=float, default=0.9999, help="beta of the effective number")
    p.add_argument("--gamma", type=float, default=2.0, help="focal loss gamma")
    p.add_argument(
        "--focal-alpha",
        nargs="+",
        default=None,
        metavar="CLASS=WEIGHT",
        help="per-class focal alpha (others 1), e.g. 6=100",
    )
    p.add_argument("--arch", choices=("lenet", "resnet32"), default=None)
    p.add_argument("--activation", choices=("relu", "sigmoid"), default="relu", help="LeNet")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--schedule", choices=("none", "cifar"), default=None)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--decay", type=int, nargs=2, default=[160, 180], metavar=("E1", "E2"))
    p.add_argument(
        "--no-standard-augment", action="store_true", help="CIFAR: no random crop and flip"
    )
    p.add_argument("--augment-backend", choices=("loader", "device"), default="loader")
    p.add_argument(
        "--augment-epoch",
        choices=("multiset", "dataset"),
        default="multiset",
        help="augment: an epoch is the whole oversampled multiset, or as many draws as the "
        "training set has (same number of steps as the other samplers)",
    )
    p.add_argument("--workers", type=int, default=2, help="DataLoader workers (augment/loader)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--grid", action="store_true", help="run --samplers x --losses")
    p.add_argument("--samplers", type=_csv(SAMPLERS), default=list(SAMPLERS))
    p.add_argument("--losses", type=_csv(LOSSES), default=list(LOSSES))
    p.add_argument("--tag", default=None, help="name of the grid's table files")
    p.add_argument(
        "--collect",
        nargs="+",
        default=None,
        metavar="JSON",
        help="only build one table and plot (--tag) from the JSON files of earlier grids",
    )
    p.add_argument("--focus", type=int, nargs="*", default=None, help="classes with own column")
    p.add_argument("--many", type=float, default=100)
    p.add_argument("--few", type=float, default=20)
    p.add_argument("--limit-train", type=int, default=None, help="subsample (smoke tests)")
    p.add_argument("--limit-test", type=int, default=None)
    p.add_argument("--out", default="examples/results")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-amp", action="store_true")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--data-on", choices=("auto", "device", "host"), default="auto")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--quiet", dest="verbose", action="store_false")
    args = p.parse_args(argv)
    cifar = args.dataset.startswith("cifar")
    defaults = {
        "arch": "resnet32" if cifar else "lenet",
        "optimizer": "sgd" if cifar else "adam",
        "lr": 0.1 if cifar else 1e-3,
        "weight_decay": 2e-4 if cifar else 0.0,
        "epochs": 200 if cifar else 5,
        "schedule": "cifar" if cifar else "none",
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.minority_classes and args.focus is None:
        args.focus = list(args.minority_classes)
    args.focus = args.focus or []
    return args


def collect(args: argparse.Namespace) -> int:
    """Merge the runs of earlier grids into one table, JSON and recall plot."""
    import json

    results: list[dict[str, Any]] = []
    commands = []
    for path in args.collect:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        commands.append(payload["command"])
        results += payload["runs"]
    classes = [str(c) for c in range(len(results[0]["recall"]))]
    write_outputs(args, results, classes, commands)
    return 0


def write_outputs(
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    classes: Sequence[str],
    commands: Sequence[str],
) -> None:
    tag = args.tag or f"{args.dataset}_grid"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = grid_table(results, args.focus, args.many, args.few)
    header = "".join(f"<!-- {c} -->\n" for c in commands)
    (out / f"{tag}.md").write_text(header + table + "\n", encoding="utf-8")
    write_json(
        out / f"{tag}.json",
        {
            "command": commands[0] if len(commands) == 1 else list(commands),
            "hardware": hardware(),
            "git": git_revision(),
            "runs": [{k: v for k, v in r.items() if k != "history"} for r in results],
        },
    )
    save_figure(plot_recall(results, classes, tag), out / f"{tag}_recall.png")
    print(table)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    use_agg_backend()
    if args.collect:
        return collect(args)
    runtime = setup_runtime(
        args.device,
        amp=not args.no_amp,
        channels_last=not args.no_channels_last,
        threads=args.threads,
    )
    data = load_data(args)
    print(
        f"{args.dataset}: train {data.train_y.numel()} images, counts {data.counts}; "
        f"test {data.test_y.numel()}; {runtime.describe()}",
        flush=True,
    )
    combos = (
        [(s, lo) for s in args.samplers for lo in args.losses]
        if args.grid
        else [(args.sampler, args.loss)]
    )
    results = []
    for sampler, loss in combos:
        for i, seed in enumerate(args.seeds):
            args.sampler, args.loss = sampler, loss
            result = train_one(args, data, runtime, seed, confusion=not args.grid or i == 0)
            results.append(result)
            focus = " ".join(f"recall[{c}]={result['recall'][c]:.3f}" for c in args.focus)
            print(
                f"{result['name']}: acc {result['accuracy']:.4f} bal.acc "
                f"{result['balanced_accuracy']:.4f} {focus} ({result['train_seconds']:.0f}s, "
                f"{result['images_per_second']:.0f} img/s, input {result['input_fraction']:.0%})",
                flush=True,
            )
    if args.grid or len(args.seeds) > 1:
        write_outputs(args, results, data.classes, [command_line()])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
