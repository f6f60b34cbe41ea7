"""``balancers demo``: train a small network with each balancing strategy on a long-tailed split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import CommandError
from ._output import check_folder, writing

__all__ = ["register", "run"]

_DATASETS = ("digits", "mnist", "fashionmnist")


def register(subparsers: Any) -> None:
    from ..demo import strategy_help

    parser = subparsers.add_parser(
        "demo",
        help="compare balancing strategies on a long-tailed split of real data",
        description="Build a long-tailed training split (and a balanced test split) of a real "
        "dataset, train the same small network once per balancing strategy, print accuracy, "
        "balanced accuracy, few-shot accuracy and worst-class recall per strategy, and write "
        "a plot of per-class recall (recall_by_class.png) and every number (results.json) to "
        "--out. The default data, scikit-learn's handwritten digits, ships with scikit-learn: "
        "nothing is downloaded. Same seed, same numbers.",
        epilog="strategies:\n" + strategy_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dataset",
        default="digits",
        metavar="NAME",
        help="digits (8x8, bundled with scikit-learn; default), mnist or fashionmnist (28x28, "
        "LeNet; read from --root)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="mnist/fashionmnist: the torchvision data root holding MNIST/raw or "
        "FashionMNIST/raw (default: ./datasets)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="mnist/fashionmnist: download the files into --root if they are missing",
    )
    parser.add_argument(
        "--ratio", type=float, default=20.0, help="imbalance ratio n_max/n_min (default: 20)"
    )
    parser.add_argument(
        "--profile", default="exp", metavar="NAME", help="exp (default), step or linear"
    )
    parser.add_argument(
        "--strategies",
        default=None,
        metavar="LIST",
        help="comma-separated strategy names (default: all whose dependencies are installed)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per strategy (digits 30, mnist 8)"
    )
    parser.add_argument("--batch-size", type=int, default=None, help="digits 32, mnist 64")
    parser.add_argument("--lr", type=float, default=None, help="SGD learning rate (0.05)")
    parser.add_argument(
        "--n-max",
        type=int,
        default=None,
        help="training images of the largest class (digits: all 124 left; mnist: 1000)",
    )
    parser.add_argument(
        "--test-per-class",
        type=int,
        default=None,
        help="balanced test images per class (digits 50, mnist: the smallest class)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1, mps"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: small networks train fastest single-threaded)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo_output"),
        help="folder for recall_by_class.png and results.json (default: ./demo_output)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few epochs on a smaller split: finishes in seconds (for CI)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import PROFILES, DemoConfig, run_demo

    if args.dataset not in _DATASETS:
        raise CommandError(
            f"unknown dataset {args.dataset!r}; choose from: {', '.join(_DATASETS)}."
        )
    if args.profile not in PROFILES:
        raise CommandError(f"unknown profile {args.profile!r}; choose from: {', '.join(PROFILES)}.")
    if args.root is not None and args.dataset == "digits":
        raise CommandError(
            "--root is for --dataset mnist or fashionmnist; the digits ship with scikit-learn."
        )
    out = Path(args.out)
    check_folder(out, "--out")
    config = DemoConfig(
        dataset=args.dataset,
        root=args.root,
        download=args.download,
        ratio=args.ratio,
        profile=args.profile,
        strategies=args.strategies,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        n_max=args.n_max,
        test_per_class=args.test_per_class,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        quick=args.quick,
        progress=not args.no_progress,
    )
    result = run_demo(config, log=lambda line: print(line, flush=True))
    print()
    print(result.table())
    print()
    print(result.shot_note())
    with writing(out, "--out"):
        paths = result.save(out)
    for note in result.notes:
        print(f"note: {note}")
    print("wrote " + " and ".join(str(p) for p in paths))
    sys.stdout.flush()
    return 0
