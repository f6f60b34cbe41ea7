"""WeightedSampler vs torch's WeightedRandomSampler: epoch generation, iteration, memory.

Each measurement runs in a fresh subprocess so that its peak resident memory is its own.
Printed columns:

* ``setup``: building the sampler (ours: validation plus the alias table or weight groups;
  torch: the constructor);
* ``epoch``: generating one epoch's index sequence (ours: ``global_indices``; torch: the
  ``torch.multinomial`` call its ``__iter__`` makes);
* ``iterate``: a full ``for i in sampler`` loop yielding Python ints (generation included);
* ``peak MB``: the subprocess's peak resident memory (torch import included);
* ``x epoch`` / ``x setup+epoch`` / ``x iterate``: torch's time divided by ours.

Weights are either ``class`` (per-sample inverse class frequencies of 100 long-tailed classes,
the usual use) or ``random`` (uniform random floats, every weight distinct).

Usage: ``python benchmarks/bench_weighted.py [--quick] [--sizes 1e6 1e7 1e8]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

SETUP_WEIGHTS = """
import numpy as np
def make_weights(n, kind):
    rng = np.random.default_rng(0)
    if kind == "random":
        return rng.random(n) + 1e-3
    classes = 100
    sizes = np.maximum(1, (np.exp(-np.arange(classes) / 20.0))).astype(np.float64)
    labels = rng.choice(classes, size=n, p=sizes / sizes.sum())
    counts = np.bincount(labels, minlength=classes)
    return 1.0 / counts[labels]
"""


def child(impl: str, n: int, replacement: bool, kind: str, iterate: bool) -> dict[str, object]:
    import numpy as np
    import torch

    namespace: dict[str, object] = {}
    exec(SETUP_WEIGHTS, namespace)
    weights = namespace["make_weights"](n, kind)  # type: ignore[operator]
    result: dict[str, object] = {}
    try:
        if impl == "ours":
            from balancers import WeightedSampler

            t0 = time.perf_counter()
            sampler = WeightedSampler(weights, replacement=replacement, num_samples=n, seed=0)
            t1 = time.perf_counter()
            seq = sampler.global_indices(0)
            t2 = time.perf_counter()
            assert seq.shape == (n,)
            del seq
        else:
            w = torch.as_tensor(weights, dtype=torch.double)
            t0 = time.perf_counter()
            sampler = torch.utils.data.WeightedRandomSampler(w, n, replacement=replacement)
            t1 = time.perf_counter()
            seq_t = torch.multinomial(w, n, replacement, generator=torch.Generator())
            t2 = time.perf_counter()
            del seq_t
        result.update(setup=t1 - t0, epoch=t2 - t1)
        if iterate:
            t3 = time.perf_counter()
            count = 0
            for _ in sampler:
                count += 1
            result["iterate"] = time.perf_counter() - t3
            assert count == n
    except RuntimeError as exc:
        result["error"] = str(exc).splitlines()[0]
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del np
    return result


def batch_mode(n: int, batch_size: int) -> dict[str, float]:
    """DataLoader epoch over an in-memory tensor dataset: per-item vs whole-batch fetching."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

    from balancers import WeightedSampler

    class BatchTensorDataset(TensorDataset):
        def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, ...]:
            index = torch.as_tensor(indices)
            return tuple(t[index] for t in self.tensors)

    namespace: dict[str, object] = {}
    exec(SETUP_WEIGHTS, namespace)
    weights = namespace["make_weights"](n, "class")  # type: ignore[operator]
    x = torch.randn(n, 16)
    y = torch.zeros(n, dtype=torch.long)
    t0 = time.perf_counter()
    torch_loader = DataLoader(
        TensorDataset(x, y),
        batch_size=batch_size,
        sampler=WeightedRandomSampler(torch.as_tensor(weights), n),
    )
    for _ in torch_loader:
        pass
    t1 = time.perf_counter()
    ours = WeightedSampler(weights, seed=0)
    loader = DataLoader(
        BatchTensorDataset(x, y),
        batch_sampler=ours.batches(batch_size),
        collate_fn=lambda batch: batch,
    )
    for _ in loader:
        pass
    t2 = time.perf_counter()
    return {"torch": t1 - t0, "ours": t2 - t1}


def run_child(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["crashed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7, 1e8])
    parser.add_argument("--quick", action="store_true", help="10^5 and 10^6 only")
    parser.add_argument("--no-iterate-above", type=float, default=1e8 + 1)
    parser.add_argument("--child", nargs=5, metavar=("IMPL", "N", "REPL", "KIND", "ITER"))
    parser.add_argument("--batch-mode", type=float, default=1e6)
    args = parser.parse_args()
    if args.child:
        impl, n, repl, kind, it = args.child
        print(json.dumps(child(impl, int(n), repl == "1", kind, it == "1")))
        return
    sizes = [1e5, 1e6] if args.quick else args.sizes
    header = (
        f"{'N':>6} {'repl':>5} {'weights':>7} {'impl':>5} {'setup':>7} {'epoch':>7} "
        f"{'iterate':>8} {'peak MB':>8} {'x epoch':>8} {'x setup+epoch':>13} {'x iterate':>9}"
    )
    print(header)
    print("-" * len(header))
    for size in sizes:
        n = int(size)
        for repl in (True, False):
            for kind in ("class", "random"):
                iterate = "1" if n < args.no_iterate_above else "0"
                rows = {
                    impl: run_child([impl, str(n), "1" if repl else "0", kind, iterate])
                    for impl in ("torch", "ours")
                }
                t, o = rows["torch"], rows["ours"]
                for impl, r in rows.items():
                    ratios = ["-", "-", "-"]
                    if impl == "ours" and "error" not in t and "error" not in o:
                        ratios = [
                            f"{t['epoch'] / o['epoch']:.1f}x",  # type: ignore[operator]
                            f"{(t['setup'] + t['epoch']) / (o['setup'] + o['epoch']):.1f}x",  # type: ignore[operator]
                            f"{t['iterate'] / o['iterate']:.1f}x" if "iterate" in o else "-",  # type: ignore[operator]
                        ]
                    line = (
                        f"{f'1e{len(str(n)) - 1}':>6} {repl!s:>5} {kind:>7} {impl:>5} "
                        f"{fmt(r.get('setup')):>7} {fmt(r.get('epoch')):>7} "
                        f"{fmt(r.get('iterate')):>8} {fmt(r.get('peak_mb')):>8} "
                        f"{ratios[0]:>8} {ratios[1]:>13} {ratios[2]:>9}"
                    )
                    print(line + (f"  error: {r['error']}" if "error" in r else ""), flush=True)
    n = int(1e5 if args.quick else args.batch_mode)
    times = batch_mode(n, 128)
    print()
    print(f"DataLoader epoch, N={n}, batch 128, in-memory tensors (seconds)")
    print(f"  torch WeightedRandomSampler, per-item fetch : {times['torch']:.2f}")
    print(f"  WeightedSampler.batches(128), batch fetch   : {times['ours']:.2f}")
    print(f"  ratio                                       : {times['torch'] / times['ours']:.1f}x")


if __name__ == "__main__":
    main()
