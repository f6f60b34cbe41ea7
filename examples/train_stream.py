"""Train on a long-tailed stream: raw webdataset shards vs ``BalancedStream`` (reject, oversample).

Long-tailed MNIST (exponential profile, imbalance ratio 100, as ``train_longtail.py``) is written
as webdataset tar shards (PNG images, ``.cls`` labels, shuffled once at writing). The class
counts come from the shards' ``.cls`` members alone (``balancers describe --webdataset ... --key
cls`` does the same), and each run reads the shards through ``webdataset.WebDataset`` with a
seeded shuffle buffer:

* ``raw``: the stream as it is;
* ``reject``: ``BalancedStream(..., method="reject")``: balanced classes, most head items dropped;
* ``oversample``: ``BalancedStream(..., method="oversample")``: every item plus repeats of the
  rare classes from per-class buffers.

The label is read from the undecoded ``.cls`` field and PNG decoding happens in the stream's
``transform``, so rejected items are never decoded. A LeNet-5 is trained for ``--epochs`` passes
over the source (Adam, lr 1e-3, batch 128) for every method and seed; the MNIST test set gives
accuracy, balanced accuracy and many-shot (> 1000 training images) / few-shot (< 200) recall.
Results: ``<out>/stream_mnist_lt100.json`` and ``.md`` (mean ± std over seeds).

Example::

    python examples/train_stream.py --root ../shared/data --epochs 5 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import LeNet, fmt_mean_std, hardware, markdown_table, write_json

from balancers.datasets import long_tail_counts, long_tail_indices
from balancers.metrics import classification_report
from balancers.streams import BalancedStream
from balancers.streams._count import read_webdataset_labels

METHODS = ("raw", "reject", "oversample")
MEAN, STD = 0.1307, 0.3081
MANY, FEW = 1000, 200


def write_shards(root: str, ratio: float, folder: Path, shard_size: int) -> tuple[str, list[int]]:
    """Long-tailed MNIST train images as shuffled webdataset shards; returns the brace pattern."""
    import webdataset as wds
    from torchvision.datasets import MNIST

    train = MNIST(root, train=True, download=False)
    labels = train.targets.numpy()
    counts = long_tail_counts(int(np.bincount(labels).min()), 10, ratio)
    keep = long_tail_indices(labels, counts, seed=0)
    order = keep[np.random.Generator(np.random.PCG64(0)).permutation(keep.size)]
    n_shards = -(-order.size // shard_size)
    folder.mkdir(parents=True, exist_ok=True)
    for s in range(n_shards):
        with wds.TarWriter(str(folder / f"lt-{s:03d}.tar")) as sink:
            for i in order[s * shard_size : (s + 1) * shard_size].tolist():
                png = io.BytesIO()
                Image.fromarray(train.data[i].numpy()).save(png, format="PNG")
                sink.write({"__key__": f"{i:05d}", "png": png.getvalue(), "cls": int(labels[i])})
    return str(folder / f"lt-{{000..{n_shards - 1:03d}}}.tar"), counts


def decode(item: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """PNG bytes to a normalised 1x28x28 float tensor, and the class."""
    pixels = np.asarray(Image.open(io.BytesIO(item["png"])), dtype=np.float32) / 255.0
    return torch.from_numpy((pixels - MEAN) / STD).unsqueeze(0), int(item["cls"])


def make_stream(pattern: str, method: str, counts: dict[int, int], seed: int, epoch: int) -> Any:
    import webdataset as wds

    shuffled = wds.WebDataset(pattern, shardshuffle=False).shuffle(
        2000, rng=random.Random(1000 * seed + epoch)
    )
    if method == "raw":
        return shuffled.map(decode)
    stream = BalancedStream(
        shuffled, label="cls", method=method, class_counts=counts, seed=seed, transform=decode
    )
    stream.set_epoch(epoch)
    return stream


def test_set(root: str) -> tuple[torch.Tensor, np.ndarray]:
    from torchvision.datasets import MNIST

    test = MNIST(root, train=False, download=False)
    x = (test.data.float().unsqueeze(1) / 255.0 - MEAN) / STD
    return x, test.targets.numpy()


def run_one(
    args: argparse.Namespace, pattern: str, counts: dict[int, int], method: str, seed: int
) -> dict[str, Any]:
    torch.manual_seed(seed)  # the model's initial weights
    model = LeNet(10)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    images, start, per_epoch = 0, time.perf_counter(), []
    for epoch in range(args.epochs):
        model.train()
        loader = DataLoader(
            make_stream(pattern, method, counts, seed, epoch), batch_size=args.batch_size
        )
        seen_epoch = np.zeros(10, dtype=np.int64)
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()
            images += int(y.numel())
            seen_epoch += np.bincount(y.numpy(), minlength=10)
        per_epoch.append(seen_epoch.tolist())
    seconds = time.perf_counter() - start
    x_test, y_test = test_set(args.root)
    model.eval()
    with torch.no_grad():
        pred = torch.cat(
            [model(x_test[i : i + 2000]).argmax(1) for i in range(0, len(x_test), 2000)]
        )
    report = classification_report(y_test, pred.numpy(), train_counts=counts, many=MANY, few=FEW)
    return {
        "method": method,
        "seed": seed,
        "epochs": args.epochs,
        "accuracy": report.accuracy,
        "balanced_accuracy": report.balanced_accuracy,
        "many_shot_accuracy": report.many_shot_accuracy,
        "few_shot_accuracy": report.few_shot_accuracy,
        "recall": [float(r) for r in report.recall],
        "train_images": images,
        "images_per_epoch_by_class": per_epoch,
        "seconds": seconds,
    }


def summarize(results: list[dict[str, Any]], methods: Sequence[str]) -> str:
    header = [
        "stream",
        "accuracy",
        "balanced acc.",
        f"many (>{MANY})",
        f"few (<{FEW})",
        "train images",
        "s / run",
        "seeds",
    ]
    rows = []
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        if not runs:
            continue
        rows.append(
            [
                method,
                fmt_mean_std([r["accuracy"] for r in runs]),
                fmt_mean_std([r["balanced_accuracy"] for r in runs]),
                fmt_mean_std([r["many_shot_accuracy"] for r in runs]),
                fmt_mean_std([r["few_shot_accuracy"] for r in runs]),
                f"{np.mean([r['train_images'] for r in runs]):.0f}",
                f"{np.mean([r['seconds'] for r in runs]):.0f}",
                str(len(runs)),
            ]
        )
    return markdown_table(header, rows)


def write_outputs(
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    counts: dict[int, int],
    results: list[dict[str, Any]],
) -> None:
    """Write the runs so far (called after every run, so an interrupted grid keeps its runs)."""
    name = f"stream_mnist_lt{args.ratio:g}{args.tag}"
    table = summarize(results, args.methods)
    command = "python examples/train_stream.py " + " ".join(sys.argv[1:] if argv is None else argv)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.md").write_text(
        f"<!-- {command} -->\nLong-tailed MNIST (ratio {args.ratio:g}) as webdataset shards, "
        f"LeNet-5, {args.epochs} epochs, MNIST test set.\n\n{table}\n"
    )
    write_json(
        args.out / f"{name}.json",
        {"command": command, "train_counts": counts, "hardware": hardware(), "runs": results},
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", default="data", help="folder holding MNIST/raw (torchvision)")
    p.add_argument("--ratio", type=float, default=100.0)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--shard-size", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shards", type=Path, default=None, help="where to write the shards")
    p.add_argument("--out", type=Path, default=Path("examples/results"))
    p.add_argument("--tag", default="", help="suffix of the result files")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.shards or Path(tmp)
        pattern, profile = write_shards(args.root, args.ratio, folder, args.shard_size)
        labels = read_webdataset_labels(pattern, "cls", progress=False)
        counts = {
            int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True), strict=True)
        }
        assert list(counts.values()) == list(profile), (counts, profile)
        print(f"{len(labels)} images in {pattern}; counts {list(counts.values())}", flush=True)
        results = []
        for seed in args.seeds:
            for method in args.methods:
                result = run_one(args, pattern, counts, method, seed)
                results.append(result)
                print(
                    f"{method:>10} seed {seed}: acc {result['accuracy']:.4f} few-shot "
                    f"{result['few_shot_accuracy']:.4f} ({result['train_images']} images, "
                    f"{result['seconds']:.0f} s)",
                    flush=True,
                )
                write_outputs(args, argv, counts, results)
    print(summarize(results, args.methods))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
