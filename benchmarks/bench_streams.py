"""balancers.streams against the raw stream and against other mixers, in the same run.

Three tables:

1. **DataLoader throughput over webdataset shards** of N 32x32 RGB PNG images (default 10^5,
   long-tailed over 10 classes with ratio 10, ``.cls`` labels), ``DataLoader(batch_size=256,
   num_workers=0)``, PNG decoding in the pipeline:

   * ``raw``: ``WebDataset(shards).map(decode)``: every item decoded;
   * ``oracle filter``: the raw stream restricted to the items rejection keeps, by a set lookup
     (the same reads and decodes as ``reject``, with no decision made): the peer of ``reject``;
   * ``reject`` / ``oversample``: ``BalancedStream(WebDataset(shards), label="cls",
     class_counts=..., transform=decode)``, balanced target.

   ``overhead`` is the time per item yielded divided by the peer's, minus 1: ``reject`` against
   the oracle filter (per item kept), ``oversample`` against ``raw`` (per item yielded; repeats
   come from memory and are decoded again, skipping the tar read). The best of ``--repeats``
   interleaved passes is kept.
2. **Mixing 3 sources** of M items each (default 10^6, dict items), weights 0.5/0.3/0.2, stop
   at the first exhausted source: ``mix_streams`` vs Hugging Face ``interleave_datasets``
   (``probabilities``, ``stopping_strategy="first_exhausted"``, sources from
   ``Dataset.to_iterable_dataset``) vs webdataset ``RandomMix`` (``longest=False``): items/s and
   the achieved shares.
3. **Peak RSS of oversampling** at buffer sizes 10^2..10^4: a fresh process oversamples 2*10^5
   items (10 classes, 3 KB payload each) to a balanced target; ``raw`` iterates the same stream.

Usage: ``python benchmarks/bench_streams.py [--quick] [--images 100000] [--mix 1000000]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------- throughput
def write_shards(folder: Path, n: int, per_shard: int = 10_000) -> tuple[str, dict[int, int]]:
    import webdataset as wds
    from PIL import Image

    rng = np.random.Generator(np.random.PCG64(0))
    shares = 10.0 ** (-np.arange(10) / 9)  # exponential profile, ratio 10
    labels = rng.choice(10, size=n, p=shares / shares.sum())
    base = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    n_shards = -(-n // per_shard)
    for s in range(n_shards):
        with wds.TarWriter(str(folder / f"img-{s:03d}.tar")) as sink:
            for i in range(s * per_shard, min(n, (s + 1) * per_shard)):
                png = io.BytesIO()
                Image.fromarray(base[i % 64]).save(png, format="PNG")
                sink.write({"__key__": f"{i:07d}", "png": png.getvalue(), "cls": int(labels[i])})
    counts = dict(enumerate(np.bincount(labels, minlength=10).tolist()))
    return str(folder / f"img-{{000..{n_shards - 1:03d}}}.tar"), counts


def decode(item: dict[str, Any]) -> tuple[Any, int]:
    import torch
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(item["png"])).convert("RGB"))
    return torch.from_numpy(pixels).permute(2, 0, 1), int(item["cls"])


def timed_epoch(dataset: Any) -> tuple[float, int]:
    from torch.utils.data import DataLoader

    start, n = time.perf_counter(), 0
    for _, y in DataLoader(dataset, batch_size=256, num_workers=0):
        n += int(y.numel())
    return time.perf_counter() - start, n


def throughput(n: int, repeats: int) -> None:
    import webdataset as wds

    from balancers.streams import BalancedStream

    with tempfile.TemporaryDirectory() as tmp:
        pattern, counts = write_shards(Path(tmp), n)

        def stream(method: str) -> Any:
            source = wds.WebDataset(pattern, shardshuffle=False)
            return BalancedStream(
                source, label="cls", method=method, class_counts=counts, transform=decode
            )

        probe = stream("reject")
        kept = {
            d["__key__"]
            for d in BalancedStream(
                wds.WebDataset(pattern, shardshuffle=False), label="cls", class_counts=counts
            )
        }
        del probe
        makers = {
            "raw": lambda: wds.WebDataset(pattern, shardshuffle=False).map(decode),
            "oracle filter": lambda: (
                wds.WebDataset(pattern, shardshuffle=False)
                .select(lambda d: d["__key__"] in kept)
                .map(decode)
            ),
            "reject": lambda: stream("reject"),
            "oversample": lambda: stream("oversample"),
        }
        best: dict[str, tuple[float, int]] = {}
        for _ in range(repeats):
            for name, make in makers.items():
                seconds, items = timed_epoch(make())
                if name not in best or seconds < best[name][0]:
                    best[name] = (seconds, items)
    per_item = {k: s / i for k, (s, i) in best.items()}
    peers = {"oracle filter": "raw", "reject": "oracle filter", "oversample": "raw"}
    print(
        f"\n1. DataLoader over webdataset shards: {n} 32x32 PNG images, 10 classes (ratio 10), "
        f"balanced target, best of {repeats}"
    )
    header = f"{'stream':<15}{'items':>9}{'seconds':>9}{'items/s':>10}{'us/item':>9}  overhead"
    print(header)
    print("-" * (len(header) + 20))
    for name, (seconds, items) in best.items():
        peer = peers.get(name)
        ratio = f"{per_item[name] / per_item[peer] - 1:+.1%} vs {peer}" if peer else ""
        print(
            f"{name:<15}{items:>9}{seconds:>9.2f}{items / seconds:>10.0f}"
            f"{per_item[name] * 1e6:>9.1f}  {ratio}"
        )


# ---------------------------------------------------------------------------------------- mixing
def mixing(m: int) -> None:
    import webdataset as wds

    import datasets
    from balancers.streams import mix_streams

    weights = [0.5, 0.3, 0.2]
    names = ["a", "b", "c"]

    class Source:
        def __init__(self, k: int) -> None:
            self.k = k

        def __iter__(self) -> Any:
            return ({"src": self.k, "i": i} for i in range(m))

    def run(name: str, mixed: Any) -> None:
        start = time.perf_counter()
        counts = np.zeros(3, dtype=np.int64)
        for item in mixed:
            counts[item["src"]] += 1
        seconds = time.perf_counter() - start
        shares = " ".join(f"{s:.4f}" for s in counts / counts.sum())
        print(
            f"{name:<28}{counts.sum():>10}{seconds:>9.2f}{counts.sum() / seconds:>11.0f}  {shares}"
        )

    datasets.disable_progress_bars()
    hf_sources = [
        datasets.Dataset.from_dict({"src": [k] * m, "i": list(range(m))}).to_iterable_dataset(
            num_shards=4
        )
        for k in range(3)
    ]
    print(
        f"\n2. Mixing 3 sources of {m} items, weights 0.5/0.3/0.2, stop at the first exhausted",
        flush=True,
    )
    header = f"{'mixer':<28}{'items':>10}{'seconds':>9}{'items/s':>11}  shares a b c"
    print(header)
    print("-" * (len(header) + 10))
    run(
        "balancers mix_streams",
        mix_streams(
            dict(zip(names, [Source(k) for k in range(3)], strict=True)),
            weights=weights,
            stop="first_exhausted",
            seed=0,
        ),
    )
    run("webdataset RandomMix", wds.RandomMix([Source(k) for k in range(3)], weights))
    run(
        "HF interleave_datasets",
        datasets.interleave_datasets(
            hf_sources, probabilities=weights, seed=0, stopping_strategy="first_exhausted"
        ),
    )


# ----------------------------------------------------------------------------------------- memory
CHILD = """
import json, os, sys
import numpy as np
from balancers.streams import BalancedStream
buffer, n = int(sys.argv[1]), int(sys.argv[2])
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * page / 2**20
labels = np.random.Generator(np.random.PCG64(0)).choice(10, size=n, p=np.arange(10, 0, -1) / 55)
class Items:
    def __iter__(self):
        return ({"cls": int(c), "payload": bytes(3072)[:-1] + bytes([i % 251])}
                for i, c in enumerate(labels.tolist()))
start = peak = rss()
stream = Items() if buffer == 0 else BalancedStream(Items(), label="cls", method="oversample",
                                                     buffer_size=buffer)
count = 0
for count, _ in enumerate(stream, 1):
    if count % 1000 == 0:
        peak = max(peak, rss())
print(json.dumps({"items": count, "start": start, "peak": max(peak, rss())}))
"""


def memory(n: int) -> None:
    print(
        f"\n3. Peak RSS of oversampling {n} items (10 classes, 3 KB each), fresh process each",
        flush=True,
    )
    header = (
        f"{'stream':<26}{'items out':>10}{'RSS growth MB':>14}{'+MB vs raw':>11}{'bound MB':>10}"
    )
    print(header)
    print("-" * len(header))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = None
    for buffer in (0, 100, 1000, 10_000):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(buffer), str(n)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        peak = r["peak"] - r["start"]  # resident memory gained while iterating
        base = peak if base is None else base
        name = "raw stream" if buffer == 0 else f"oversample buffer {buffer}"
        bound = f"{10 * buffer * 3.1 / 1024:.1f}" if buffer else ""
        extra = f"{peak - base:+.1f}" if buffer else ""
        print(f"{name:<26}{r['items']:>10}{peak:>14.1f}{extra:>11}{bound:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^4 images, 10^5 items per source")
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--mix", type=int, default=1_000_000)
    parser.add_argument("--memory-items", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("throughput", "mixing", "memory"), default=None)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if args.quick:
        args.images, args.mix, args.memory_items, args.repeats = 10_000, 100_000, 50_000, 2
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}, peak RSS of this process so far "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if args.only in (None, "throughput"):
        throughput(args.images, args.repeats)
    if args.only in (None, "mixing"):
        mixing(args.mix)
    if args.only in (None, "memory"):
        memory(args.memory_items)


if __name__ == "__main__":
    main()
