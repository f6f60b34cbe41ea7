"""Epoch generation of the class-level samplers against their peers, measured in the same run.

Tables:
1. one epoch of ``n`` indices (labels with exponential imbalance 100) for each sampler, as a numpy
   array (``global_indices``) and as Python ints (``list(sampler)``), against
   ``torch.multinomial`` with class-inverse per-sample weights (what ``WeightedRandomSampler``
   does) and its ``.tolist()``;
2. torchsampler's ``ImbalancedDatasetSampler`` (construction and one epoch) against
   ``ClassBalancedSampler``;
3. ``random_oversample`` / ``random_undersample`` against imbalanced-learn's
   ``RandomOverSampler`` / ``RandomUnderSampler.fit_resample`` (X with 1 and 16 columns); ours
   is shown for the indices alone and with the gather ``X[indices]``.

Run ``python benchmarks/bench_class_samplers.py`` (``--quick`` for a small smoke run).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from balancers import (
    BalancedBatchSampler,
    ClassAwareSampler,
    ClassBalancedSampler,
    ProgressivelyBalancedSampler,
    random_oversample,
    random_undersample,
)


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def long_tail_labels(n: int, n_classes: int, ratio: float, seed: int = 0) -> np.ndarray:
    """``n`` labels, class sizes decaying exponentially from the largest to largest/ratio."""
    shape = ratio ** (-np.arange(n_classes) / max(n_classes - 1, 1))
    counts = np.maximum(np.floor(shape / shape.sum() * n).astype(np.int64), 1)
    counts[0] += n - counts.sum()
    rng = np.random.default_rng(seed)
    return rng.permutation(np.repeat(np.arange(n_classes), counts))


def epoch_table(sizes: list[int], class_counts: list[int], repeat: int) -> None:
    print("1. one epoch of n indices (labels with exponential imbalance 100)")
    header = (
        f"{'n':>9} {'classes':>7} {'sampler':<22} {'array s':>8} {'Mind/s':>7} {'x mult':>7} "
        f"{'list s':>7} {'x mult':>7}"
    )
    print(header)
    print("-" * len(header))
    for n in sizes:
        for n_classes in class_counts:
            labels = long_tail_labels(n, n_classes, 100.0)
            counts = np.bincount(labels)
            weights = torch.as_tensor(1.0 / counts[labels], dtype=torch.double)
            peer_repeat = 1 if n >= 5_000_000 else repeat
            t_mult = best_of(lambda: torch.multinomial(weights, n, True), peer_repeat)  # noqa: B023
            t_mult_list = best_of(
                lambda: torch.multinomial(weights, n, True).tolist(),  # noqa: B023
                peer_repeat,
            )
            p = min(n_classes, 32)
            samplers: dict[str, Any] = {
                "ClassBalanced q=0": ClassBalancedSampler(labels, q=0.0),
                "ClassBalanced q=0.5": ClassBalancedSampler(labels, q=0.5),
                "Progressive t=T/2": ProgressivelyBalancedSampler(labels, epochs=2),
                "ClassAware": ClassAwareSampler(labels),
                f"BalancedBatch {p}x4": BalancedBatchSampler(
                    labels, classes_per_batch=p, samples_per_class=4, num_batches=n // (4 * p)
                ),
            }
            row0 = f"{n:>9} {n_classes:>7}"
            print(
                f"{row0} {'torch.multinomial':<22} {t_mult:8.3f} {n / t_mult / 1e6:7.1f} "
                f"{1.0:7.1f} {t_mult_list:7.3f} {1.0:7.1f}"
            )
            for name, sampler in samplers.items():
                t_arr = best_of(lambda s=sampler: s.global_indices(1), repeat)
                t_list = best_of(lambda s=sampler: list(s), repeat)
                print(
                    f"{row0} {name:<22} {t_arr:8.3f} {n / t_arr / 1e6:7.1f} "
                    f"{t_mult / t_arr:7.1f} {t_list:7.3f} {t_mult_list / t_list:7.1f}"
                )


def torchsampler_table(n: int, repeat: int) -> None:
    from torchsampler import ImbalancedDatasetSampler

    labels = long_tail_labels(n, 10, 100.0)
    label_list = labels.tolist()
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(labels))
    print(f"\n2. torchsampler.ImbalancedDatasetSampler vs ClassBalancedSampler(q=0), n={n}")
    print(f"{'':<28} {'build s':>8} {'epoch s':>8}")
    peer = ImbalancedDatasetSampler(dataset, labels=label_list)
    t_build_peer = best_of(lambda: ImbalancedDatasetSampler(dataset, labels=label_list), repeat)
    t_epoch_peer = best_of(lambda: list(peer), 1)
    ours = ClassBalancedSampler(labels)
    t_build = best_of(lambda: ClassBalancedSampler(labels), repeat)
    t_epoch = best_of(lambda: list(ours), repeat)
    print(f"{'ImbalancedDatasetSampler':<28} {t_build_peer:8.3f} {t_epoch_peer:8.3f}")
    print(f"{'ClassBalancedSampler':<28} {t_build:8.3f} {t_epoch:8.3f}")
    print(f"{'speed-up':<28} {t_build_peer / t_build:7.1f}x {t_epoch_peer / t_epoch:7.1f}x")


def resample_table(n: int, repeat: int) -> None:
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler

    labels = long_tail_labels(n, 10, 100.0)
    print(f"\n3. index resampling vs imbalanced-learn, n={n}, 10 classes, imbalance 100")
    header = (
        f"{'method':<18} {'cols':>4} {'imblearn s':>10} {'ours idx s':>10} {'x':>6} "
        f"{'ours+X[idx] s':>13} {'x':>6}"
    )
    print(header)
    print("-" * len(header))
    cases = [
        ("oversample", RandomOverSampler, random_oversample),
        ("undersample", RandomUnderSampler, random_undersample),
    ]
    for name, peer_cls, ours in cases:
        for cols in (1, 16):
            x = np.random.default_rng(0).random((n, cols))
            t_peer = best_of(
                lambda c=peer_cls, x=x: c(random_state=0).fit_resample(x, labels), repeat
            )
            t_idx = best_of(lambda f=ours: f(labels, seed=0), repeat)
            t_gather = best_of(lambda f=ours, x=x: (x[f(labels, seed=0)], labels), repeat)
            print(
                f"{name:<18} {cols:>4} {t_peer:10.4f} {t_idx:10.4f} {t_peer / t_idx:6.1f} "
                f"{t_gather:13.4f} {t_peer / t_gather:6.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    if args.quick:
        epoch_table([100_000], [10, 1000], repeat=1)
        torchsampler_table(100_000, repeat=1)
        resample_table(100_000, repeat=1)
    else:
        epoch_table([1_000_000, 10_000_000], [10, 1000, 100_000], repeat=3)
        torchsampler_table(1_000_000, repeat=3)
        resample_table(1_000_000, repeat=3)


if __name__ == "__main__":
    main()
