"""Benchmark: ML-ROS, ML-RUS, LP-ROS, LP-RUS and the RepeatFactorSampler epoch.

Data: 10**6 rows x 100 labels whose frequencies follow a power law (label l has frequency
0.5 * (l + 1) ** -1.1, rows drawn independently), and 10**7 multiclass rows over 1000 classes
with power-law class sizes for repeat-factor sampling.

Peers, measured in the same run:

* ML-ROS, ML-RUS: the naive loop of the published pseudo-code, which recomputes the label counts
  of the whole (augmented / reduced) dataset after every clone or deletion. It is far too slow to
  finish at this size, so it runs for a fixed number of steps and its time is extrapolated
  linearly to the number of steps balancers made (marked ``*``; linear extrapolation
  underestimates it, since each recount grows with the dataset). The steps it made are checked
  to equal balancers' first steps for ML-ROS.
* ML-ROS also against the clone-by-clone loop with incrementally updated counts (full run).
* LP-ROS, LP-RUS: a plain Python implementation (labelsets as row tuples in a dict, one random
  draw per clone or deletion).
* RepeatFactorSampler: a per-sample Python loop that builds the epoch (as in common detection
  code bases), measured on the first 10**6 rows and extrapolated (``*``).

Run ``python benchmarks/bench_multilabel.py`` (about a minute) or with ``--quick`` for a small
smoke run. Timings are wall-clock seconds of one run, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from balancers import RepeatFactorSampler, lp_ros, lp_rus, ml_ros, ml_rus
from balancers._rng import make_rng


def power_law_labels(n: int, n_labels: int, seed: int = 0) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    freq = 0.5 * np.arange(1, n_labels + 1, dtype=np.float64) ** -1.1
    rows, cols = [], []
    for label, f in enumerate(freq):
        k = rng.binomial(n, f)
        rows.append(rng.choice(n, size=k, replace=False))
        cols.append(np.full(k, label))
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_array((np.ones(r.shape[0], dtype=np.int8), (r, c)), shape=(n, n_labels))


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def _bags(y: sp.csr_array, minority: bool) -> tuple[np.ndarray, float, np.ndarray]:
    counts = np.bincount(y.indices, minlength=y.shape[1]).astype(np.int64)
    ir = counts.max() / counts
    mean_ir = float(ir.mean())
    bags = np.flatnonzero(ir > mean_ir) if minority else np.flatnonzero(ir < mean_ir)
    return counts, mean_ir, bags


def naive_ml_ros(y: sp.csr_array, percentage: float, seed: int, max_steps: int) -> list[int]:
    """The published loop: after each clone, recount the labels of the augmented dataset."""
    n = y.shape[0]
    budget = math.floor(n * percentage / 100 + 1e-9)
    u = make_rng(seed).random(budget)
    _, mean_ir, bags_arr = _bags(y, minority=True)
    csc = y.tocsc()
    members = {int(b): csc.indices[csc.indptr[b] : csc.indptr[b + 1]] for b in bags_arr}
    bags = list(members)
    clones: list[int] = []
    while len(clones) < min(budget, max_steps) and bags:
        for b in list(bags):
            rows = members[b]
            clones.append(int(rows[min(int(u[len(clones)] * len(rows)), len(rows) - 1)]))
            data = y[np.concatenate([np.arange(n), clones])]
            counts = np.bincount(data.indices, minlength=y.shape[1])
            if counts.max() / counts[b] <= mean_ir:
                bags.remove(b)
            if len(clones) in (budget, max_steps):
                break
    return clones


def incremental_ml_ros(y: sp.csr_array, percentage: float, seed: int) -> list[int]:
    """Clone by clone, with the label counts updated incrementally (no recount)."""
    n = y.shape[0]
    budget = math.floor(n * percentage / 100 + 1e-9)
    u = make_rng(seed).random(budget)
    counts, mean_ir, bags_arr = _bags(y, minority=True)
    csc = y.tocsc()
    members = {int(b): csc.indices[csc.indptr[b] : csc.indptr[b + 1]] for b in bags_arr}
    bags = list(members)
    max_count = int(counts.max())
    clones: list[int] = []
    while len(clones) < budget and bags:
        for b in list(bags):
            rows = members[b]
            row = int(rows[min(int(u[len(clones)] * len(rows)), len(rows) - 1)])
            clones.append(row)
            labels = y.indices[y.indptr[row] : y.indptr[row + 1]]
            counts[labels] += 1
            max_count = max(max_count, int(counts[labels].max()))
            if max_count / counts[b] <= mean_ir:
                bags.remove(b)
            if len(clones) == budget:
                break
    return clones


def naive_ml_rus(y: sp.csr_array, percentage: float, seed: int, max_steps: int) -> int:
    """The published loop: after each deletion, recount the labels of the reduced dataset."""
    n = y.shape[0]
    rng = np.random.default_rng(seed)
    counts, mean_ir, bags_arr = _bags(y, minority=False)
    ir = counts.max() / counts
    protected = np.zeros(n, dtype=bool)
    csc = y.tocsc()
    for label in np.flatnonzero(ir > mean_ir):
        protected[csc.indices[csc.indptr[label] : csc.indptr[label + 1]]] = True
    alive = np.ones(n, dtype=bool)
    bags = [int(b) for b in bags_arr]
    steps = 0
    budget = math.floor(n * percentage / 100 + 1e-9)
    while steps < min(budget, max_steps) and bags:
        for b in list(bags):
            rows = csc.indices[csc.indptr[b] : csc.indptr[b + 1]]
            candidates = rows[alive[rows] & ~protected[rows]]
            if candidates.size == 0:
                bags.remove(b)
                continue
            alive[candidates[rng.integers(candidates.size)]] = False
            steps += 1
            data = y[np.flatnonzero(alive)]
            counts = np.bincount(data.indices, minlength=y.shape[1])
            if counts.max() / counts[b] >= mean_ir:
                bags.remove(b)
            if steps in (budget, max_steps):
                break
    return steps


def python_lp(y: sp.csr_array, percentage: float, seed: int, undersample: bool) -> int:
    """Label powerset in plain Python: labelsets as tuples in a dict, one draw per row moved."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple[int, ...], list[int]] = {}
    indptr, indices = y.indptr.tolist(), y.indices.tolist()
    for row in range(y.shape[0]):
        groups.setdefault(tuple(indices[indptr[row] : indptr[row + 1]]), []).append(row)
    mean_size = y.shape[0] / len(groups)
    if undersample:
        bags = sorted((g for g in groups.values() if len(g) > mean_size), key=len)
    else:
        bags = sorted((g for g in groups.values() if len(g) < mean_size), key=len, reverse=True)
    remaining = math.floor(y.shape[0] * percentage / 100 + 1e-9)
    moved = 0
    for i, bag in enumerate(bags):
        gap = math.floor(len(bag) - mean_size) if undersample else math.floor(mean_size - len(bag))
        take = min(gap, remaining // (len(bags) - i))
        remaining -= take
        if undersample:
            pool = list(bag)
            for _ in range(take):
                pool.pop(int(rng.integers(len(pool))))
        else:
            for _ in range(take):
                bag[int(rng.integers(len(bag)))]
        moved += take
    return moved


def python_rfs_epoch(factors: np.ndarray, seed: int) -> list[int]:
    """A per-sample Python loop building one repeat-factor epoch."""
    rng = np.random.default_rng(seed)
    u = rng.random(factors.shape[0])
    out: list[int] = []
    for i, r in enumerate(factors.tolist()):
        k = int(r) + (1 if u[i] < r - int(r) else 0)
        out.extend([i] * k)
    rng.shuffle(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--repeat", type=int, default=1, help="best of this many runs")
    args = parser.parse_args()
    n, n_labels, n_rfs = (20_000, 100, 200_000) if args.quick else (10**6, 100, 10**7)
    naive_steps = 20 if args.quick else 60
    percentage = 25.0

    y = power_law_labels(n, n_labels)
    print(f"labels: {n} rows x {n_labels} labels, {y.nnz} positives; P = {percentage:g}")
    rows: list[tuple[str, float, str, float, bool]] = []

    t_ros, out = timed(lambda: ml_ros(y, percentage, seed=0), args.repeat)
    clones = out[n:]
    t_naive, naive = timed(lambda: naive_ml_ros(y, percentage, 0, naive_steps), 1)
    assert naive == clones[: len(naive)].tolist(), "naive loop disagrees with ml_ros"
    rows.append(
        (
            f"ML-ROS ({clones.size} clones)",
            t_ros,
            "naive recount per clone",
            t_naive * clones.size / max(len(naive), 1),
            True,
        )
    )
    t_inc, inc = timed(lambda: incremental_ml_ros(y, percentage, 0), 1)
    assert inc == clones.tolist(), "incremental loop disagrees with ml_ros"
    rows.append((f"ML-ROS ({clones.size} clones)", t_ros, "clone-by-clone loop", t_inc, False))

    t_rus, kept = timed(lambda: ml_rus(y, percentage, seed=0), args.repeat)
    deleted = n - kept.size
    t_naive_rus, steps = timed(lambda: naive_ml_rus(y, percentage, 0, naive_steps), 1)
    rows.append(
        (
            f"ML-RUS ({deleted} deleted)",
            t_rus,
            "naive recount per deletion",
            t_naive_rus * deleted / max(steps, 1),
            True,
        )
    )
    t_lp, lp = timed(lambda: lp_ros(y, percentage, seed=0), args.repeat)
    t_lp_py, moved = timed(lambda: python_lp(y, percentage, 0, False), 1)
    assert moved == lp.size - n
    rows.append((f"LP-ROS ({lp.size - n} clones)", t_lp, "plain Python", t_lp_py, False))
    t_lpu, lpu = timed(lambda: lp_rus(y, percentage, seed=0), args.repeat)
    t_lpu_py, moved = timed(lambda: python_lp(y, percentage, 0, True), 1)
    assert moved == n - lpu.size
    rows.append((f"LP-RUS ({n - lpu.size} deleted)", t_lpu, "plain Python", t_lpu_py, False))

    rng = np.random.default_rng(1)
    sizes = np.maximum(1, (n_rfs / 20 * np.arange(1, 1001, dtype=np.float64) ** -1.0)).astype(int)
    classes = rng.permutation(np.repeat(np.arange(1000), sizes))[:n_rfs]
    if classes.size < n_rfs:
        classes = np.concatenate([classes, np.zeros(n_rfs - classes.size, dtype=classes.dtype)])
    t_build, sampler = timed(lambda: RepeatFactorSampler(classes, threshold=0.001, seed=0), 1)
    t_epoch, epoch = timed(lambda: sampler.global_indices(0), args.repeat)
    t_iter, _ = timed(lambda: sum(1 for _ in sampler), 1)
    part = min(n_rfs, 10**6)
    t_py, _ = timed(lambda: python_rfs_epoch(sampler.repeat_factors_[:part], 0), 1)
    rows.append(
        (
            f"RFS epoch draw ({n_rfs} rows -> {epoch.size})",
            t_epoch,
            "per-sample Python loop",
            t_py * n_rfs / part,
            part < n_rfs,
        )
    )
    rows.append(
        (
            f"RFS full iteration ({epoch.size} ints)",
            t_iter,
            "per-sample Python loop",
            t_py * n_rfs / part,
            part < n_rfs,
        )
    )

    width = max(len(r[0]) for r in rows)
    peer_width = max(len(r[2]) for r in rows)
    print(
        f"{'task':<{width}}  {'balancers s':>11}  {'peer':<{peer_width}}  {'peer s':>9}  "
        f"{'speedup':>8}"
    )
    for name, ours, peer, theirs, extrapolated in rows:
        mark = "*" if extrapolated else " "
        print(
            f"{name:<{width}}  {ours:>11.3f}  {peer:<{peer_width}}  {theirs:>8.2f}{mark}  "
            f"{theirs / ours:>7.1f}x"
        )
    print(f"RepeatFactorSampler construction: {t_build:.3f} s")
    print(f"* extrapolated linearly from {naive_steps} steps (naive loops) or {part} rows (RFS)")


if __name__ == "__main__":
    main()
