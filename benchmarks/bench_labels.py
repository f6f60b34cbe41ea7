"""Label extraction from Hugging Face datasets, pandas, polars and pyarrow: ours vs user code.

``get_labels`` reads the label column through Arrow in one vectorized pass. The peers are what a
user writes without it, timed in the same run on the same data:

* ``[row["label"] for row in ds]``: iterating the rows of a ``datasets.Dataset`` (this decodes
  the image column of every row), and ``np.asarray(ds["label"])`` (which goes through the lazy
  column row by row); both timed on ``--peer-rows`` rows and scaled to the full size (marked
  ``*``) because a full pass takes minutes;
* ``ds["label"][:]``, the fast column accessor (a list; no image decoded), and
  ``MultiLabelBinarizer().fit_transform(ds["tags"][:])`` for the list column;
* ``series.tolist()`` / ``series.to_list()`` / ``array.to_pylist()`` for pandas, polars and
  pyarrow (a categorical pandas column: ``np.asarray(series)``).

The dataset has ``--rows`` rows (default 10^6) with an ``image`` column (an 8x8 PNG in every
row: decoding it is cheap, so the row loops are timed at their fastest), a ``ClassLabel``
column of 100 long-tailed classes and a ``List(ClassLabel)`` column of 20 labels. Each time is
the best of ``--repeats`` runs; ``x`` is the peer's time divided by ours.

Usage: ``python benchmarks/bench_labels.py [--rows 1000000] [--peer-rows 2000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _png() -> bytes:
    """An 8x8 RGB PNG (small, so that 10^6 rows stay well under 2 GB of image bytes)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def build(rows: int) -> tuple[Any, dict[str, Any]]:
    """The Hugging Face dataset and the same label columns as frames and Arrow arrays."""
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from datasets import ClassLabel, Dataset, DatasetInfo, Features, Image, List

    rng = np.random.default_rng(0)
    shares = np.exp(-np.arange(100) / 15.0)
    label = rng.choice(100, size=rows, p=shares / shares.sum())
    lengths = rng.integers(0, 4, size=rows)
    tag_shares = np.exp(-np.arange(20) / 4.0)
    values = rng.choice(20, size=int(lengths.sum()), p=tag_shares / tag_shares.sum())
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    tags = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values))
    png = _png()
    image = pa.StructArray.from_arrays(
        [pa.array([png] * rows, pa.binary()), pa.nulls(rows, pa.string())], ["bytes", "path"]
    )
    features = Features(
        {
            "image": Image(),
            "label": ClassLabel(num_classes=100),
            "tags": List(ClassLabel(num_classes=20)),
        }
    )
    table = pa.table({"image": image, "label": pa.array(label), "tags": tags})
    ds = Dataset(table, info=DatasetInfo(features=features))
    names = np.array([f"class{c:03d}" for c in range(100)])[label]
    others = {
        "pandas int64": pd.Series(label),
        "pandas categorical": pd.Series(names, dtype="category"),
        "polars int64": pl.Series(label),
        "polars string": pl.Series(names),
        "pyarrow chunked int64": pa.chunked_array(np.array_split(label, 8)),
    }
    return ds, others


def best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--peer-rows", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from sklearn.preprocessing import MultiLabelBinarizer

    from balancers import get_labels

    ds, others = build(args.rows)
    n, k = args.rows, min(args.peer_rows, args.rows)
    head = ds.select(range(k))
    scale = n / k

    def rows(column: str) -> Callable[[Any], Any]:
        return lambda d: [row[column] for row in d]

    lines: list[tuple[str, float, str, float, bool]] = []

    def add(name: str, ours: float, label: str, peer: float, scaled: bool = False) -> None:
        lines.append((name, ours, label, peer, scaled))

    def on_head(fn: Callable[[Any], Any]) -> float:
        return best(lambda: fn(head), 1) * scale

    ours = best(lambda: get_labels(ds, column="label"), args.repeats)
    add("HF ClassLabel", ours, 'for row in ds: row["label"]', on_head(rows("label")), True)
    add(
        "HF ClassLabel",
        ours,
        'np.asarray(ds["label"])',
        on_head(lambda d: np.asarray(d["label"])),
        True,
    )
    add("HF ClassLabel", ours, 'ds["label"][:]', best(lambda: ds["label"][:], args.repeats))
    ours = best(lambda: get_labels(ds, column="tags"), args.repeats)
    add("HF List(ClassLabel)", ours, 'for row in ds: row["tags"]', on_head(rows("tags")), True)
    binarize = MultiLabelBinarizer(sparse_output=True).fit_transform
    add(
        "HF List(ClassLabel)",
        ours,
        'MultiLabelBinarizer(ds["tags"][:])',
        best(lambda: binarize(ds["tags"][:]), 1),
    )
    for name, data in others.items():
        ours = best(lambda d=data: get_labels(d), args.repeats)
        if name.startswith("pandas categorical"):
            peer, label = (lambda d=data: np.asarray(d)), "np.asarray(series)"
        elif name.startswith("pandas"):
            peer, label = (lambda d=data: d.tolist()), "series.tolist()"
        elif name.startswith("polars"):
            peer, label = (lambda d=data: d.to_list()), "series.to_list()"
        else:
            peer, label = (lambda d=data: d.to_pylist()), "array.to_pylist()"
        add(name, ours, label, best(peer, args.repeats))

    print(f"label extraction, {n:,} rows (peer row loops timed on {k:,} rows and scaled: *)")
    print("| input | ours (s) | peer | peer (s) | x |\n| --- | ---: | --- | ---: | ---: |")
    for name, ours, label, peer, scaled in lines:
        star = "*" if scaled and k < n else ""
        ratio = f"{peer / ours:.0f}" if peer >= 10 * ours else f"{peer / ours:.1f}"
        print(f"| {name} | {ours:.4f} | `{label}` | {peer:.3f}{star} | {ratio} |")


if __name__ == "__main__":
    main()
