"""Multilabel stratified K-fold: time and quality of balancers against its peers, in one run.

Compares ``balancers.IterativeStratifiedKFold`` (order 1 and 2) with scikit-multilearn's
``IterativeStratification`` (order 1 and 2), iterstrat's ``MultilabelStratifiedKFold`` and a
shuffled ``KFold``, on generated label matrices of the sizes below, 5 folds each. Columns:

- ``time s``: one split of seed 0 (balancers: best of 7), labels validation included;
- ``x ours``: the method's time divided by balancers' order-1 time on the same case;
- ``LD``: Label Distribution (Sechidis et al. 2011), seed 0; ``LD 5-seed``: mean over seeds
  0..4 (fewer when one run is slow; the count is shown); ``LD/ours``: against balancers order 1;
- ``empty``: (fold, label) cells with no positive, for labels with at least 5 positives;
- ``LPD``: label-pair distribution (Szymański & Kajdanowicz 2017), seed 0.

Then, in the same run (sections named ``chestxray14 grouped``, ``grouped 1e6``, ``LDS``):

- grouped 5-fold on ChestX-ray14 (15 findings, 30,805 patients; ``BALANCERS_TEST_DATA``):
  ``IterativeStratifiedGroupKFold`` against scikit-learn's ``StratifiedGroupKFold`` on the most
  frequent label (the only grouped stratifier there; it sees one label) and ``GroupKFold``
  (shuffled groups), and ungrouped ``IterativeStratifiedKFold`` for reference; LD on all 15
  labels, rows of the largest / smallest fold, patients split across folds;
- grouped at scale: 10^6 rows, 10^5 groups, 100 sparse labels, in a fresh child process that
  reports its peak RSS;
- LDS weights (``regression_weights``) for 10^7 targets, and against the paper's reference
  ``_prepare_weights`` (Yang et al. 2021, per-sample Python) on 10^6.

In these three sections ``x ours`` is the ratio of process CPU seconds (``cpu s``), which a
loaded shared machine distorts far less than wall-clock time; both are printed.

Peers run in a child process and are stopped after ``--timeout`` seconds (180 by default);
a peer that timed out on a smaller case of the same family is skipped on the larger ones.
Each case with both order-2 methods ends with the line ``order 2: skmultilearn o2 / balancers
o2``. Run ``python benchmarks/bench_stratify.py --quick`` for a small smoke run, and
``--only "x 64,224000"`` for the cases whose names contain one of the given strings.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold

from balancers import (
    IterativeStratifiedGroupKFold,
    IterativeStratifiedKFold,
    regression_weights,
    stratification_report,
)

N_SPLITS = 5
RATES_4 = np.array([19, 65, 38, 105]) / 224


@dataclass
class Case:
    name: str
    family: str
    make: Callable[[], Any]
    peers: bool = True
    order2: bool = True


def dense_rates(n: int, rates: np.ndarray, seed: int = 0) -> np.ndarray:
    """Independent labels with the given positive rates, as a dense int8 matrix."""
    rng = np.random.default_rng(seed)
    return (rng.random((n, rates.shape[0])) < rates).astype(np.int8)


def long_tail_rates(n_labels: int, top: float = 0.3, power: float = 0.8) -> np.ndarray:
    return top * np.arange(1, n_labels + 1, dtype=np.float64) ** -power


def sparse_tail(n: int, n_labels: int, per_row: float = 5.0, seed: int = 0) -> sp.csr_array:
    """Poisson(per_row) labels per row drawn from a Zipf-like law: a long tail of rare labels."""
    rng = np.random.default_rng(seed)
    p = np.arange(1, n_labels + 1, dtype=np.float64) ** -1.1
    p /= p.sum()
    per = rng.poisson(per_row, n)
    rows = np.repeat(np.arange(n), per)
    cols = rng.choice(n_labels, size=rows.shape[0], p=p)
    m = sp.csr_array((np.ones(rows.shape[0], np.int8), (rows, cols)), shape=(n, n_labels))
    m.sum_duplicates()
    m.data[:] = 1
    return m


def cases(quick: bool) -> list[Case]:
    s = 20 if quick else 1
    return [
        Case(f"{10_000 // s} x 4", "n x 4", lambda: dense_rates(10_000 // s, RATES_4)),
        Case(f"{50_000 // s} x 4", "n x 4", lambda: dense_rates(50_000 // s, RATES_4)),
        Case(f"{224_000 // s} x 4", "n x 4", lambda: dense_rates(224_000 // s, RATES_4)),
        Case(
            f"{20_000 // s} x 64", "20k x L", lambda: dense_rates(20_000 // s, long_tail_rates(64))
        ),
        Case(
            f"{20_000 // s} x 100",
            "20k x L",
            lambda: dense_rates(20_000 // s, long_tail_rates(100)),
        ),
        Case(
            f"{20_000 // s} x 1024",
            "20k x L",
            lambda: dense_rates(20_000 // s, long_tail_rates(1024)),
        ),
        Case(f"{50_000 // s} x 512 sparse", "sparse", lambda: sparse_tail(50_000 // s, 512)),
        Case(
            f"{1_000_000 // s} x 512 sparse",
            "sparse",
            lambda: sparse_tail(1_000_000 // s, 512),
            peers=False,
            order2=False,
        ),
    ]


# ----------------------------------------------------------------------------- methods
def ours(order: int) -> Callable[[Any, int], list[np.ndarray]]:
    def run(y: Any, seed: int) -> list[np.ndarray]:
        cv = IterativeStratifiedKFold(N_SPLITS, order=order, shuffle=True, random_state=seed)
        return [test for _, test in cv.split(None, y)]

    return run


def skml(order: int) -> Callable[[Any, int], list[np.ndarray]]:
    def run(y: Any, seed: int) -> list[np.ndarray]:
        from skmultilearn.model_selection import IterativeStratification

        np.random.seed(seed)  # noqa: NPY002 - scikit-multilearn ties use the global RNG
        cv = IterativeStratification(n_splits=N_SPLITS, order=order)
        return [np.asarray(test) for _, test in cv.split(np.zeros((y.shape[0], 1)), y)]

    return run


def iterstrat(y: Any, seed: int) -> list[np.ndarray]:
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    dense = y.toarray() if sp.issparse(y) else y
    cv = MultilabelStratifiedKFold(n_splits=N_SPLITS, shuffle=True, random_state=seed)
    return [test for _, test in cv.split(np.zeros((dense.shape[0], 1)), dense)]


def kfold(y: Any, seed: int) -> list[np.ndarray]:
    cv = KFold(N_SPLITS, shuffle=True, random_state=seed)
    return [test for _, test in cv.split(np.zeros((y.shape[0], 1)))]


_CHILD: dict[str, Any] = {}


def _child(conn: Any) -> None:
    fn, y, seed = _CHILD["fn"], _CHILD["y"], _CHILD["seed"]
    start = time.perf_counter()
    folds = fn(y, seed)
    elapsed = time.perf_counter() - start
    conn.send((elapsed, [np.asarray(f, dtype=np.int64) for f in folds]))
    conn.close()


def run_limited(fn: Callable[..., Any], y: Any, seed: int, timeout: float) -> Any:
    """Run ``fn(y, seed)`` in a forked child; (seconds, folds) or None past ``timeout``."""
    _CHILD.update(fn=fn, y=y, seed=seed)
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child,))
    proc.start()
    child.close()
    result = parent.recv() if parent.poll(timeout) else None
    if result is None:
        proc.terminate()
    proc.join()
    return result


# ----------------------------------------------------------------------------- measuring
def measure(y: Any, folds: list[np.ndarray], pairs: bool) -> tuple[float, int, float | None]:
    report = stratification_report(y, folds, pairs=pairs)
    return report.ld, report.avoidable_empty_cells, report.lpd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--timeout", type=float, default=None, help="peer time limit (s)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--only",
        default=None,
        help="run only the cases whose name contains one of these comma-separated strings",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("BALANCERS_TEST_DATA"),
        help="data root holding chestxray14/ (default: $BALANCERS_TEST_DATA)",
    )
    args = parser.parse_args()
    timeout = args.timeout if args.timeout is not None else (20.0 if args.quick else 180.0)
    seeds = 2 if args.quick and args.seeds == 5 else args.seeds
    timed_out: set[tuple[str, str]] = set()
    ours_times: dict[str, float] = {}
    header = (
        f"{'case':<22} {'method':<14} {'time s':>9} {'x ours':>8} {'LD':>8} "
        f"{'LD 5-seed':>11} {'LD/ours':>8} {'empty':>6} {'LPD':>8}  note"
    )
    print(
        f"{N_SPLITS}-fold; peers limited to {timeout:.0f} s; times are wall-clock on a shared "
        "machine."
    )
    print(header)
    print("-" * len(header))
    for case in cases(args.quick):
        if args.only and not any(part in case.name for part in args.only.split(",")):
            continue
        y = case.make()
        nnz = int(y.nnz) if sp.issparse(y) else int(np.count_nonzero(y))
        pairs = case.order2
        methods: list[tuple[str, Callable[..., Any], bool]] = [("balancers o1", ours(1), False)]
        if case.order2:
            methods.append(("balancers o2", ours(2), False))
        if case.peers:
            methods += [
                ("iterstrat", iterstrat, True),
                ("skmultilearn o1", skml(1), True),
                ("skmultilearn o2", skml(2), True),
            ]
        methods.append(("KFold", kfold, False))
        our_ld = None
        times: dict[str, float] = {}
        for name, fn, limited in methods:
            note = ""
            if limited and (case.family, name) in timed_out:
                print(
                    f"{case.name:<22} {name:<14} {'skipped':>9}  (over {timeout:.0f} s on a "
                    "smaller case)"
                )
                continue
            if limited:
                got = run_limited(fn, y, 0, timeout)
                if got is None:
                    timed_out.add((case.family, name))
                    print(
                        f"{case.name:<22} {name:<14} {'> ' + str(int(timeout)):>9}  skipped: "
                        f"did not finish in {timeout:.0f} s"
                    )
                    continue
                seconds, folds = got
            else:
                best = np.inf
                repeats = 7 if name.startswith("balancers") else 1
                for _ in range(repeats):
                    start = time.perf_counter()
                    folds = fn(y, 0)
                    best = min(best, time.perf_counter() - start)
                seconds = best
                if name.startswith("balancers"):
                    tracemalloc.start()
                    fn(y, 0)
                    peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                    note = f"peak {peak / 2**20:.0f} MiB (numpy, traced)"
            times[name] = seconds
            if name == "balancers o1":
                ours_times[case.name] = seconds
            ld0, empty0, lpd0 = measure(y, folds, pairs)
            lds = [ld0]
            budget = timeout if limited else 600.0
            for seed in range(1, seeds):
                if seconds * (seed + 1) > budget:
                    break
                more = run_limited(fn, y, seed, timeout) if limited else (0.0, fn(y, seed))
                if more is None:
                    break
                lds.append(measure(y, more[1], False)[0])
            ld_mean = float(np.mean(lds))
            if name == "balancers o1":
                our_ld = ld_mean
            ratio = seconds / ours_times[case.name]
            ld_ratio = ld_mean / our_ld if our_ld else float("nan")
            lpd_text = f"{lpd0:.4f}" if lpd0 is not None else "-"
            print(
                f"{case.name:<22} {name:<14} {seconds:>9.3f} {ratio:>8.1f} {ld0:>8.4f} "
                f"{ld_mean:>8.4f}({len(lds)}) {ld_ratio:>8.2f} {empty0:>6d} {lpd_text:>8}  "
                f"{note}"
            )
        print(f"{case.name:<22} (n={y.shape[0]}, labels={y.shape[1]}, nnz={nnz})")
        if "balancers o2" in times and "skmultilearn o2" in times:
            print(
                f"{case.name:<22} order 2: skmultilearn o2 / balancers o2 = "
                f"{times['skmultilearn o2'] / times['balancers o2']:.1f}x"
            )

    # Growth of balancers' order-1 time.
    def slope(a: str, b: str, xa: float, xb: float) -> str:
        if a in ours_times and b in ours_times:
            return f"{np.log(ours_times[b] / ours_times[a]) / np.log(xb / xa):.2f}"
        return "-"

    s = 20 if args.quick else 1
    print()
    print(
        "balancers o1 growth exponent in n (x 4 labels, "
        f"{10_000 // s} -> {224_000 // s}): "
        f"{slope(f'{10_000 // s} x 4', f'{224_000 // s} x 4', 10_000, 224_000)}"
    )
    print(
        f"balancers o1 growth exponent in labels ({20_000 // s} rows, 100 -> 1024): "
        f"{slope(f'{20_000 // s} x 100', f'{20_000 // s} x 1024', 100, 1024)}"
    )

    def wanted(name: str) -> bool:
        return not args.only or any(part in name for part in args.only.split(","))

    if wanted("chestxray14 grouped"):
        bench_chestxray14(args.data, seeds)
    if wanted("grouped 1e6"):
        bench_grouped_scale(10**6 // s, 10**5 // s)
    if wanted("LDS"):
        bench_lds(10**7 // s, 10**6 // s)


# ----------------------------------------------------------------------------- grouped
def load_chestxray14(root: str) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd  # type: ignore[import-untyped]

    table = pd.read_csv(
        os.path.join(root, "chestxray14", "Data_Entry_2017_v2020.csv.gz"),
        usecols=["Finding Labels", "Patient ID"],
    )
    return table["Finding Labels"].str.get_dummies("|").to_numpy(np.int8), table[
        "Patient ID"
    ].to_numpy()


def _timed(
    fn: Callable[[], list[np.ndarray]], repeats: int
) -> tuple[float, float, list[np.ndarray]]:
    """Best wall-clock and best process CPU seconds of ``repeats`` calls, and the last result."""
    wall, cpu, out = np.inf, np.inf, []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return wall, cpu, out


def bench_chestxray14(root: str | None, seeds: int) -> None:
    print()
    if root is None or not os.path.isdir(os.path.join(root, "chestxray14")):
        print("chestxray14 grouped: skipped (pass --data or set BALANCERS_TEST_DATA)")
        return
    y, patients = load_chestxray14(root)
    top = int(y.sum(axis=0).argmax())

    def ours_grouped(seed: int) -> list[np.ndarray]:
        cv = IterativeStratifiedGroupKFold(N_SPLITS, shuffle=True, random_state=seed)
        return [test for _, test in cv.split(None, y, patients)]

    def sklearn_sgkf(seed: int) -> list[np.ndarray]:
        cv = StratifiedGroupKFold(N_SPLITS, shuffle=True, random_state=seed)
        return [test for _, test in cv.split(y, y[:, top], patients)]

    def group_kfold(seed: int) -> list[np.ndarray]:
        cv = GroupKFold(N_SPLITS, shuffle=True, random_state=seed)
        return [test for _, test in cv.split(y, y, patients)]

    def ungrouped(seed: int) -> list[np.ndarray]:
        cv = IterativeStratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)
        return [test for _, test in cv.split(None, y)]

    header = (
        f"{'chestxray14 grouped':<24} {'time s':>8} {'cpu s':>7} {'x ours':>7} {'LD':>9} "
        f"{'LD/ours':>8} "
        f"{'empty':>6} {'rows max/min':>13} {'split pts':>10}"
    )
    print(
        f"ChestX-ray14: {y.shape[0]} images, {np.unique(patients).shape[0]} patients, "
        f"{y.shape[1]} labels; {N_SPLITS} folds; LD over all labels, mean of seeds "
        f"0..{seeds - 1}; StratifiedGroupKFold sees label {top} only"
    )
    print(header)
    print("-" * len(header))
    methods = [
        ("balancers grouped", ours_grouped, 3),
        ("StratifiedGroupKFold", sklearn_sgkf, 1),
        ("GroupKFold (shuffled)", group_kfold, 1),
        ("balancers ungrouped", ungrouped, 3),
    ]
    ours_cpu = ours_ld = 0.0
    for name, fn, repeats in methods:
        seconds, cpu, folds = _timed(lambda fn=fn: fn(0), repeats)  # type: ignore[misc]
        reports = [stratification_report(y, folds, pairs=False, groups=patients)]
        reports += [
            stratification_report(y, fn(seed), pairs=False, groups=patients)
            for seed in range(1, seeds)
        ]
        ld = float(np.mean([r.ld for r in reports]))
        if name == "balancers grouped":
            ours_cpu, ours_ld = cpu, ld
        first = reports[0]
        print(
            f"{name:<24} {seconds:>8.3f} {cpu:>7.3f} {cpu / ours_cpu:>7.1f} {ld:>9.2e} "
            f"{ld / ours_ld:>8.1f} {first.avoidable_empty_cells:>6d} "
            f"{max(first.fold_sizes) / min(first.fold_sizes):>13.4f} {first.split_groups:>10d}"
        )


def _scale_child(conn: Any, n: int, n_groups: int) -> None:
    y = sparse_tail(n, 100)
    groups = np.random.default_rng(1).integers(0, n_groups, n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, start_cpu = time.perf_counter(), time.process_time()
    cv = IterativeStratifiedGroupKFold(N_SPLITS, shuffle=True, random_state=0)
    folds = [test for _, test in cv.split(None, y, groups)]
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, start_cpu = time.perf_counter(), time.process_time()
    peer = [
        test for _, test in GroupKFold(N_SPLITS, shuffle=True, random_state=0).split(y, y, groups)
    ]
    peer_seconds, peer_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    ours_report = stratification_report(y, folds, pairs=False, groups=groups)
    peer_report = stratification_report(y, peer, pairs=False, groups=groups)
    conn.send((seconds, cpu, before, peak, peer_seconds, peer_cpu, ours_report, peer_report))
    conn.close()


def bench_grouped_scale(n: int, n_groups: int) -> None:
    ctx = mp.get_context("spawn")  # a fresh process: its peak RSS is this case's
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_scale_child, args=(child, n, n_groups))
    proc.start()
    child.close()
    seconds, cpu, before, peak, peer_seconds, peer_cpu, ours_report, peer_report = parent.recv()
    proc.join()
    print()
    print(
        f"grouped 1e6: {n} rows, {n_groups} groups, 100 sparse labels (Zipf, ~5 per row), "
        f"{N_SPLITS} folds, seed 0"
    )
    header = (
        f"{'method':<24} {'time s':>8} {'cpu s':>7} {'x ours':>7} {'LD':>9} {'LD/ours':>8} "
        f"{'empty':>6}"
    )
    print(header + "  note")
    print("-" * len(header))
    print(
        f"{'balancers grouped':<24} {seconds:>8.2f} {cpu:>7.2f} {1.0:>7.1f} "
        f"{ours_report.ld:>9.2e} {1.0:>8.1f} {ours_report.avoidable_empty_cells:>6d}  peak RSS "
        f"{peak / 2**20:.2f} GiB (process; {before / 2**20:.2f} GiB before the split)"
    )
    print(
        f"{'GroupKFold (shuffled)':<24} {peer_seconds:>8.2f} {peer_cpu:>7.2f} "
        f"{peer_cpu / cpu:>7.2f} "
        f"{peer_report.ld:>9.2e} {peer_report.ld / ours_report.ld:>8.1f} "
        f"{peer_report.avoidable_empty_cells:>6d}"
    )


# ----------------------------------------------------------------------------- LDS
def paper_prepare_weights(labels: np.ndarray, max_target: int) -> np.ndarray:
    """Yang et al. 2021's ``_prepare_weights`` (sqrt_inv, LDS triangular ks=5), as published."""
    from scipy.ndimage import convolve1d
    from scipy.signal.windows import triang

    value_dict = {x: 0 for x in range(max_target)}
    for label in labels:
        value_dict[min(max_target - 1, int(label))] += 1
    value_dict = {k: np.sqrt(v) for k, v in value_dict.items()}
    smoothed_value = convolve1d(
        np.asarray([v for _, v in value_dict.items()]), weights=triang(5), mode="constant"
    )
    num_per_label = [smoothed_value[min(max_target - 1, int(label))] for label in labels]
    weights = [np.float32(1 / x) for x in num_per_label]
    scaling = len(weights) / np.sum(weights)
    return np.array([scaling * x for x in weights])


def bench_lds(n: int, n_peer: int) -> None:
    rng = np.random.default_rng(0)
    y = np.floor(rng.gamma(4.0, 10.0, n))  # integer, long right tail
    bins = np.arange(0.0, y.max() + 2)  # one bin per integer target, as in the paper
    print()
    header = f"{'LDS weights':<34} {'n':>10} {'time s':>8} {'cpu s':>7} {'x ours':>7}  max |diff|"
    print(header)
    print("-" * len(header))
    seconds, cpu, _ = _timed(
        lambda: [regression_weights(y, bins=bins, kernel="triangular").numpy()], 3
    )
    print(f"{'balancers regression_weights':<34} {n:>10} {seconds:>8.3f} {cpu:>7.3f} {1.0:>7.1f}")
    small = y[:n_peer]
    small_bins = np.arange(0.0, small.max() + 2)
    ours_small, ours_small_cpu, ours_out = _timed(
        lambda: [regression_weights(small, bins=small_bins, kernel="triangular").numpy()], 3
    )
    start, start_cpu = time.perf_counter(), time.process_time()
    ref = paper_prepare_weights(small, small_bins.shape[0] - 1)
    peer, peer_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    diff = float(np.abs(ref - ours_out[0]).max())
    print(
        f"{'balancers regression_weights':<34} {n_peer:>10} {ours_small:>8.3f} "
        f"{ours_small_cpu:>7.3f} {1.0:>7.1f}"
    )
    print(
        f"{'paper _prepare_weights (Python)':<34} {n_peer:>10} {peer:>8.3f} {peer_cpu:>7.3f} "
        f"{peer_cpu / ours_small_cpu:>7.1f}  {diff:.1e}"
    )
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
