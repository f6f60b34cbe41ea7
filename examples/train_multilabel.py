"""A multilabel image benchmark from real MNIST digits, and the balancers strategies on it.

Each image is a 2x2 grid of MNIST digits (56x56). Four digits are the labels (default 3, 5, 8 and
9); label ``j`` is 1 when its digit appears in the grid. Label frequencies follow the issue's
19000, 65000, 38000 and 105000 positives per 224000 images (8.5%, 29%, 17% and 47%), scaled to
``--train-size`` images, each label placed independently, so about 29% of the images show none
of the four digits (their cells hold the other six digits). Training grids use MNIST training
digits, test grids MNIST test digits; a validation split is carved out of the training grids
by iterative stratification (:func:`balancers.model_selection.iterative_train_test_split`).

Strategies (``--strategy``, or all with ``--grid``):

* ``bce``: ``BCEWithLogitsLoss``, plain shuffling;
* ``pos-weight``: ``BCEWithLogitsLoss(pos_weight=balancers.pos_weight(labels))``;
* ``focal``: :class:`balancers.losses.BinaryFocalLoss` (gamma 2);
* ``ml-ros`` / ``lp-ros``: :func:`balancers.ml_ros` / :func:`balancers.lp_ros` (25% more
  samples) served by :class:`balancers.ResampledSampler`;
* ``repeat-factor``: :class:`balancers.RepeatFactorSampler` (``--rfs-threshold``; LVIS's 0.001
  is meant for a thousand categories, with four labels it would repeat nothing);
* ``class-aware``: :class:`balancers.ClassAwareSampler` (which never draws an image with no label).

The report has per-label precision/recall/F1/AP, mAP, micro/macro F1 and, per label, the number
of predicted positives next to the number of true positives (a weighting that floods a label
with false positives shows there).

Example::

    python examples/train_multilabel.py --root ../shared/data --grid --seeds 0 1 2

References:
    Charte et al., "Addressing imbalance in multilabel classification: Measures and random
    resampling algorithms", Neurocomputing 2015 (ML-ROS, LP-ROS). Gupta et al., "LVIS: A Dataset
    for Large Vocabulary Instance Segmentation", CVPR 2019 (repeat factors). Sechidis et al., "On
    the Stratification of Multi-Label Data", ECML PKDD 2011. Lin et al., "Focal Loss for Dense
    Object Detection", ICCV 2017.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torchvision.datasets import MNIST

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    GridNet,
    Runtime,
    command_line,
    fmt_mean_std,
    git_revision,
    hardware,
    index_batches,
    markdown_table,
    normalize,
    place_data,
    predict,
    save_figure,
    setup_runtime,
    train_epoch,
    use_agg_backend,
    write_json,
)

import balancers
from balancers.losses import BinaryFocalLoss
from balancers.metrics import multilabel_report
from balancers.model_selection import iterative_train_test_split

#: positives per label in 224000 images
FREQUENCIES = (19000, 65000, 38000, 105000)
REFERENCE_SIZE = 224000
STRATEGIES = (
    "bce",
    "pos-weight",
    "focal",
    "ml-ros",
    "lp-ros",
    "repeat-factor",
    "class-aware",
)
MEAN, STD = (0.1307,), (0.3081,)


@dataclass
class Grids:
    """Multilabel 2x2 digit grids.

    Attributes:
        images: ``uint8`` array ``(n, 56, 56)``.
        labels: ``int8`` 0/1 array ``(n, n_labels)``: label ``j`` is 1 iff ``digits[j]`` appears.
        cell_digits: ``(n, 4)`` digit class of each cell (row-major: top-left, top-right,
            bottom-left, bottom-right).
        cell_sources: ``(n, 4)`` index of each cell's image in the source digits.
        digits: the label digits.
    """

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.int8]
    cell_digits: npt.NDArray[np.int64]
    cell_sources: npt.NDArray[np.int64]
    digits: tuple[int, ...]


def label_counts(n: int, frequencies: Sequence[int] = FREQUENCIES) -> list[int]:
    """Positives per label for ``n`` images: ``round(n * f / 224000)``."""
    return [round(n * f / REFERENCE_SIZE) for f in frequencies]


def build_grids(
    source_images: Any,
    source_digits: Any,
    n: int,
    *,
    digits: Sequence[int] = (3, 5, 8, 9),
    frequencies: Sequence[int] = FREQUENCIES,
    seed: int = 0,
) -> Grids:
    """Build ``n`` 2x2 grids with exactly :func:`label_counts` positives per label.

    Each label's positive images are a uniformly random subset (independently per label); a
    positive label's digit goes into a random cell of its own, and the remaining cells get
    digits outside ``digits``, so a label is present exactly when it is 1. Cell images are
    drawn uniformly from the source images of the cell's digit. Vectorized (loops over the 4
    labels and the 10 digit classes only).

    Args:
        source_images: ``(N, 28, 28)`` uint8 digits (e.g. ``MNIST(...).data``).
        source_digits: ``(N,)`` their classes.
        n: number of grids.
        digits: the label digits (at most 4, distinct).
        frequencies: positives per label per 224000 images.
        seed: random seed.
    """
    images = np.asarray(source_images, dtype=np.uint8)
    classes = np.asarray(source_digits, dtype=np.int64)
    chosen = tuple(int(d) for d in digits)
    if len(chosen) > 4 or len(set(chosen)) != len(chosen) or len(frequencies) != len(chosen):
        raise ValueError("`digits` should be at most 4 distinct digits, one per frequency.")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20241]))
    counts = label_counts(n, frequencies)
    labels = np.zeros((n, len(chosen)), dtype=np.int8)
    for j, count in enumerate(counts):
        labels[rng.choice(n, size=count, replace=False), j] = 1
    cells = np.tile(np.arange(4, dtype=np.int64), (n, 1))
    rng.permuted(cells, axis=1, out=cells)  # cells[r, j]: the cell of label j in row r
    cell_digits = np.full((n, 4), -1, dtype=np.int64)
    rows = np.arange(n)
    for j, digit in enumerate(chosen):
        present = labels[:, j] == 1
        cell_digits[rows[present], cells[present, j]] = digit
    others = np.setdiff1d(np.unique(classes), np.asarray(chosen))
    empty = cell_digits < 0
    cell_digits[empty] = others[rng.integers(0, others.size, size=int(empty.sum()))]
    cell_sources = np.empty((n, 4), dtype=np.int64)
    for digit in np.unique(cell_digits):
        pool = np.flatnonzero(classes == digit)
        where = cell_digits == digit
        cell_sources[where] = pool[rng.integers(0, pool.size, size=int(where.sum()))]
    h, w = images.shape[1:]
    tiles = images[cell_sources].reshape(n, 2, 2, h, w)
    grid = tiles.transpose(0, 1, 3, 2, 4).reshape(n, 2 * h, 2 * w)
    return Grids(grid, labels, cell_digits, cell_sources, chosen)


# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------


def make_strategy(
    name: str, labels: npt.NDArray[np.int8], seed: int, args: argparse.Namespace
) -> tuple[Any, nn.Module]:
    """(sampler, loss) of a strategy; every sampler has ``rank_indices(epoch)``."""
    n = labels.shape[0]
    loss: nn.Module = nn.BCEWithLogitsLoss()
    if name == "pos-weight":
        loss = nn.BCEWithLogitsLoss(pos_weight=balancers.pos_weight(labels))
    elif name == "focal":
        loss = BinaryFocalLoss(args.gamma)
    if name == "ml-ros":
        indices = balancers.ml_ros(labels, percentage=args.percentage, seed=seed)
        return balancers.ResampledSampler(indices, seed=seed), loss
    if name == "lp-ros":
        indices = balancers.lp_ros(labels, percentage=args.percentage, seed=seed)
        return balancers.ResampledSampler(indices, seed=seed), loss
    if name == "repeat-factor":
        return balancers.RepeatFactorSampler(labels, threshold=args.rfs_threshold, seed=seed), loss
    if name == "class-aware":
        return balancers.ClassAwareSampler(labels, seed=seed), loss
    return balancers.ResampledSampler(np.arange(n), seed=seed), loss


# ---------------------------------------------------------------------------------------------
# data and one run
# ---------------------------------------------------------------------------------------------


@dataclass
class Data:
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    digits: tuple[int, ...]


def load_data(args: argparse.Namespace) -> Data:
    train_src = MNIST(args.root, train=True, download=args.download)
    test_src = MNIST(args.root, train=False, download=args.download)
    train = build_grids(
        train_src.data.numpy(),
        train_src.targets.numpy(),
        args.train_size,
        digits=args.digits,
        seed=args.data_seed,
    )
    test = build_grids(
        test_src.data.numpy(),
        test_src.targets.numpy(),
        args.test_size,
        digits=args.digits,
        seed=args.data_seed + 1,
    )
    fit, val = iterative_train_test_split(
        train.labels, test_size=args.val_size, random_state=args.data_seed
    )
    x = torch.from_numpy(train.images).unsqueeze(1)
    y = torch.from_numpy(train.labels)
    return Data(
        x[fit],
        y[fit],
        x[val],
        y[val],
        torch.from_numpy(test.images).unsqueeze(1),
        torch.from_numpy(test.labels),
        train.digits,
    )


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, runtime: Runtime, names: Sequence[str]
) -> dict[str, Any]:
    logits = predict(model, x, lambda t: normalize(t, MEAN, STD), runtime)
    scores = torch.sigmoid(logits).numpy()
    truth = y.numpy()
    report = multilabel_report(truth, scores, threshold=0.5, label_names=list(names))
    out = report.to_dict()
    out["predicted_positives"] = (scores >= 0.5).sum(axis=0).astype(int).tolist()
    out["true_positives"] = ((scores >= 0.5) & (truth == 1)).sum(axis=0).astype(int).tolist()
    out["positives"] = truth.sum(axis=0).astype(int).tolist()
    return out


def train_one(
    args: argparse.Namespace, data: Data, runtime: Runtime, strategy: str, seed: int
) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = runtime.prepare_model(GridNet(len(data.digits), width=args.width))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    labels = data.train_y.numpy()
    sampler, loss = make_strategy(strategy, labels, seed, args)
    loss = loss.to(runtime.device)
    x, y = place_data([data.train_x, data.train_y], runtime, args.data_on)
    history = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.as_tensor(sampler.rank_indices(epoch), device=x.device)

        def batches(order: torch.Tensor = order) -> Any:
            for idx in index_batches(order, args.batch_size):  # type: ignore[arg-type]
                images = normalize(x[idx].to(runtime.device, non_blocking=True), MEAN, STD)
                yield images, y[idx].to(runtime.device, non_blocking=True).float()

        stats = train_epoch(model, batches(), loss, opt, runtime)
        history.append(
            {
                "epoch": epoch,
                "loss": stats.loss,
                "images": stats.images,
                "seconds": round(stats.seconds, 3),
                "images_per_second": round(stats.images_per_second, 1),
            }
        )
        if args.verbose:
            print(
                f"  epoch {epoch + 1}/{args.epochs} loss {stats.loss:.4f} "
                f"({stats.images} images, {stats.images_per_second:.0f} img/s)",
                flush=True,
            )
    train_seconds = time.perf_counter() - started
    names = [str(d) for d in data.digits]
    result = {
        "name": f"multilabel_{strategy}_seed{seed}",
        "strategy": strategy,
        "seed": seed,
        "epochs": args.epochs,
        "train_size": int(labels.shape[0]),
        "train_positives": labels.sum(axis=0).astype(int).tolist(),
        "epoch_size": int(history[0]["images"]) if history else 0,
        "val": evaluate(model, data.val_x, data.val_y, runtime, names),
        "test": evaluate(model, data.test_x, data.test_y, runtime, names),
        "train_seconds": round(train_seconds, 2),
        "history": history,
        "runtime": runtime.describe(),
        "hardware": hardware(),
        "command": command_line(),
        "git": git_revision(),
    }
    write_json(Path(args.out) / "runs" / f"{result['name']}.json", result)
    return result


# ---------------------------------------------------------------------------------------------
# tables and plots
# ---------------------------------------------------------------------------------------------


def tables(results: list[dict[str, Any]], digits: Sequence[int]) -> str:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(r["strategy"], []).append(r)
    header = ["strategy", "mAP", "macro F1", "micro F1"]
    header += [f"F1 '{d}'" for d in digits] + ["epoch size", "seeds"]
    rows = []
    for name, runs in groups.items():
        tests = [r["test"] for r in runs]
        row = [
            name,
            fmt_mean_std([t["macro"]["average_precision"] for t in tests]),
            fmt_mean_std([t["macro"]["f1"] for t in tests]),
            fmt_mean_std([t["micro"]["f1"] for t in tests]),
        ]
        row += [fmt_mean_std([t["per_label"]["f1"][j] for t in tests]) for j in range(len(digits))]
        row += [str(runs[0]["epoch_size"]), str(len(runs))]
        rows.append(row)
    main = markdown_table(header, rows)
    header2 = ["strategy"]
    for d in digits:
        header2 += [f"'{d}' P / R", f"'{d}' predicted (true) pos."]
    rows2 = []
    for name, runs in groups.items():
        tests = [r["test"] for r in runs]
        row = [name]
        for j in range(len(digits)):
            p = np.mean([t["per_label"]["precision"][j] for t in tests])
            rec = np.mean([t["per_label"]["recall"][j] for t in tests])
            pred = np.mean([t["predicted_positives"][j] for t in tests])
            row += [f"{p:.3f} / {rec:.3f}", f"{pred:.0f} ({tests[0]['positives'][j]})"]
        rows2.append(row)
    flood = markdown_table(header2, rows2)
    return main + "\n\nPer label (test, mean over seeds):\n\n" + flood


def plot_labels(results: list[dict[str, Any]], digits: Sequence[int]) -> Any:
    """Per-label test precision and recall of each strategy (grouped bars)."""
    import matplotlib.pyplot as plt

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(r["strategy"], []).append(r["test"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    x = np.arange(len(digits))
    width = 0.8 / max(len(groups), 1)
    for k, (name, tests) in enumerate(groups.items()):
        for ax, metric in zip(axes, ("precision", "recall"), strict=True):
            values = np.mean([t["per_label"][metric] for t in tests], axis=0)
            ax.bar(x + (k - (len(groups) - 1) / 2) * width, values, width, label=name)
    for ax, metric in zip(axes, ("precision", "recall"), strict=True):
        ax.set_xticks(x)
        ax.set_xticklabels([f"digit {d}" for d in digits])
        ax.set_title(f"test {metric} per label")
        ax.set_ylim(0, 1.0)
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower right")
    return fig


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default="datasets", help="torchvision data root (MNIST/raw)")
    p.add_argument("--download", action="store_true")
    p.add_argument("--digits", type=int, nargs=4, default=[3, 5, 8, 9])
    p.add_argument("--train-size", type=int, default=22400, help="grids built from MNIST train")
    p.add_argument("--test-size", type=int, default=5600, help="grids built from MNIST test")
    p.add_argument("--val-size", type=float, default=0.1, help="validation fraction")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--strategy", choices=STRATEGIES, default="bce")
    p.add_argument("--grid", action="store_true", help="run every --strategies")
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--width", type=int, default=16, help="GridNet base width")
    p.add_argument("--gamma", type=float, default=2.0, help="BinaryFocalLoss gamma")
    p.add_argument("--percentage", type=float, default=25.0, help="ML-ROS / LP-ROS percentage")
    p.add_argument("--rfs-threshold", type=float, default=0.3)
    p.add_argument("--tag", default="multilabel")
    p.add_argument(
        "--collect",
        nargs="+",
        default=None,
        metavar="JSON",
        help="only build one table and plot (--tag) from the JSON files of earlier grids",
    )
    p.add_argument("--out", default="examples/results")
    p.add_argument("--device", default="auto")
    p.add_argument("--no-amp", action="store_true")
    p.add_argument("--no-channels-last", action="store_true")
    p.add_argument("--data-on", choices=("auto", "device", "host"), default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", dest="verbose", action="store_false")
    args = p.parse_args(argv)
    chosen = [s.strip() for s in args.strategies.split(",") if s.strip()]
    bad = [s for s in chosen if s not in STRATEGIES]
    if bad or not chosen:
        p.error(f"--strategies: choose from {', '.join(STRATEGIES)}; got {args.strategies!r}")
    args.strategies = chosen
    return args


def write_outputs(
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    digits: Sequence[int],
    commands: Sequence[str],
) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = tables(results, digits)
    header = "".join(f"<!-- {c} -->\n" for c in commands)
    (out / f"{args.tag}.md").write_text(f"{header}{table}\n", encoding="utf-8")
    write_json(
        out / f"{args.tag}.json",
        {
            "command": commands[0] if len(commands) == 1 else list(commands),
            "hardware": hardware(),
            "git": git_revision(),
            "runs": [{k: v for k, v in r.items() if k != "history"} for r in results],
        },
    )
    save_figure(plot_labels(results, digits), out / f"{args.tag}_labels.png")
    print(table)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    use_agg_backend()
    if args.collect:
        import json

        payloads = [json.loads(Path(p).read_text(encoding="utf-8")) for p in args.collect]
        results = [r for payload in payloads for r in payload["runs"]]
        results.sort(key=lambda r: (STRATEGIES.index(r["strategy"]), r["seed"]))
        write_outputs(args, results, args.digits, [p["command"] for p in payloads])
        return 0
    runtime = setup_runtime(
        args.device,
        amp=not args.no_amp,
        channels_last=not args.no_channels_last,
        threads=args.threads,
    )
    data = load_data(args)
    print(
        f"grids: train {len(data.train_y)} (positives {data.train_y.sum(0).tolist()}), "
        f"val {len(data.val_y)}, test {len(data.test_y)} (positives "
        f"{data.test_y.sum(0).tolist()}); digits {list(data.digits)}; {runtime.describe()}",
        flush=True,
    )
    strategies = args.strategies if args.grid else [args.strategy]
    results = []
    for strategy in strategies:
        for seed in args.seeds:
            r = train_one(args, data, runtime, strategy, seed)
            results.append(r)
            t = r["test"]
            print(
                f"{r['name']}: mAP {t['macro']['average_precision']:.4f} macro-F1 "
                f"{t['macro']['f1']:.4f} recall {[round(v, 3) for v in t['per_label']['recall']]} "
                f"predicted {t['predicted_positives']} of {t['positives']} "
                f"({r['train_seconds']:.0f}s)",
                flush=True,
            )
    write_outputs(args, results, data.digits, [command_line()])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
