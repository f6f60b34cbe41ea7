"""Cost of the focal losses and of the imbalance-aware report, each against its peer.

1. ``FocalLoss`` forward + backward on (N, C) logits against ``F.cross_entropy`` (the loss it
   generalises; the price of the focal term) and against a textbook focal loss written from
   ``softmax`` (``-(1 - p_t)**gamma * log(p_t)``, the peer most code uses).
2. ``BinaryFocalLoss`` forward + backward against ``torchvision.ops.sigmoid_focal_loss``.
3. ``classification_report`` (per-class P/R/F1, balanced accuracy, shot accuracies) against
   scikit-learn's ``classification_report(output_dict=True)`` on the same predictions.

Run ``python benchmarks/bench_losses.py`` (``--quick`` for a small smoke run). Times are the best
of ``--repeats`` runs on one CPU thread; CPU times on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import classification_report as sk_classification_report
from torchvision.ops import sigmoid_focal_loss

from balancers.losses import BinaryFocalLoss, FocalLoss
from balancers.metrics import classification_report


def best_of(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def textbook_focal(logits: torch.Tensor, target: torch.Tensor, gamma: float) -> torch.Tensor:
    p_t = torch.softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
    return (-((1 - p_t) ** gamma) * torch.log(p_t)).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, c, labels = (4096, 100, 20) if args.quick else (65536, 1000, 80)
    repeats = args.repeats or (3 if args.quick else 5)
    gen = torch.Generator().manual_seed(0)
    logits = (torch.randn(n, c, generator=gen) * 3).requires_grad_()
    target = torch.randint(0, c, (n,), generator=gen)
    focal = FocalLoss(gamma=2.0)

    def step(loss_fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            logits.grad = None
            loss_fn().backward()

        return run

    rows = []
    ours = best_of(step(lambda: focal(logits, target)), repeats)
    rows.append(
        (f"FocalLoss fwd+bwd ({n}x{c})", "F.cross_entropy", ours,
         best_of(step(lambda: F.cross_entropy(logits, target)), repeats))
    )  # fmt: skip
    rows.append(
        (f"FocalLoss fwd+bwd ({n}x{c})", "softmax focal (textbook)", ours,
         best_of(step(lambda: textbook_focal(logits, target, 2.0)), repeats))
    )  # fmt: skip
    ml_logits = (torch.randn(n, labels, generator=gen) * 3).requires_grad_()
    ml_target = (torch.rand(n, labels, generator=gen) < 0.1).float()
    binary = BinaryFocalLoss(gamma=2.0, alpha=0.25)

    def ml_step(loss_fn: Callable[[], torch.Tensor]) -> Callable[[], None]:
        def run() -> None:
            ml_logits.grad = None
            loss_fn().backward()

        return run

    rows.append(
        (f"BinaryFocalLoss fwd+bwd ({n}x{labels})", "torchvision sigmoid_focal_loss",
         best_of(ml_step(lambda: binary(ml_logits, ml_target)), repeats),
         best_of(ml_step(lambda: sigmoid_focal_loss(ml_logits, ml_target, reduction="mean")),
                 repeats))
    )  # fmt: skip
    rng = np.random.default_rng(0)
    m, k = (20_000, 10) if args.quick else (200_000, 100)
    y_true = rng.integers(0, k, m)
    y_pred = np.where(rng.random(m) < 0.7, y_true, rng.integers(0, k, m))
    counts = np.bincount(rng.integers(0, k, 10 * m), minlength=k)
    rows.append(
        (f"classification_report ({m} samples, {k} classes)", "sklearn classification_report",
         best_of(lambda: classification_report(y_true, y_pred, train_counts=counts), repeats),
         best_of(lambda: sk_classification_report(y_true, y_pred, output_dict=True,
                                                  zero_division=0), repeats))
    )  # fmt: skip
    width = max(len(r[0]) for r in rows)
    peer_width = max(len(r[1]) for r in rows)
    print(f"{'measured':<{width}}  {'peer':<{peer_width}}  {'ours ms':>9}  {'peer ms':>9}  ratio")
    for name, peer, ours_s, peer_s in rows:
        print(
            f"{name:<{width}}  {peer:<{peer_width}}  {ours_s * 1e3:>9.2f}  {peer_s * 1e3:>9.2f}  "
            f"{ours_s / peer_s:5.2f}x"
        )


if __name__ == "__main__":
    main()
