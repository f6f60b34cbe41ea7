"""``balancers split``: build a long-tailed split of a torchvision dataset and save its manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import CommandError
from ._tables import add_source_options, run_split

__all__ = ["register"]

_DATASETS = ("cifar10", "cifar100", "mnist", "fashionmnist")


def _test_per_class(text: str) -> int | str | None:
    if text == "min":
        return "min"
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"should be 'min', 'all' or a positive integer, got {text!r}"
        ) from None
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "split",
        help="make a long-tailed train/val/test split of CIFAR-10/100, MNIST or Fashion-MNIST",
        description="Make a long-tailed training set (exp, step or linear profile) with balanced "
        "validation and test sets, print the class counts and write a JSON manifest that "
        "LongTailSplit.load(path, train, test) applies again.",
    )
    parser.add_argument(
        "dataset",
        nargs="?",
        choices=_DATASETS,
        help="the dataset (or --table/--hf-dataset with --column for a stratified split of rows)",
    )
    add_source_options(parser, table=True)
    parser.add_argument(
        "--test-size",
        type=float,
        default=0.25,
        help="--table/--hf-dataset: test fraction (default: 0.25)",
    )
    parser.add_argument(
        "--root",
        default="datasets",
        help="data root holding the torchvision files (default: ./datasets)",
    )
    parser.add_argument(
        "--ratio", type=float, default=100.0, help="imbalance ratio n_max/n_min (default: 100)"
    )
    parser.add_argument(
        "--profile", choices=("exp", "step", "linear"), default="exp", help="default: exp"
    )
    parser.add_argument(
        "--n-max", type=int, default=None, help="head class size (default: the smallest class)"
    )
    parser.add_argument(
        "--minority-fraction",
        type=float,
        default=0.5,
        help="fraction of minority classes for --profile step (default: 0.5)",
    )
    parser.add_argument(
        "--val-per-class", type=int, default=0, help="validation images per class (default: 0)"
    )
    parser.add_argument(
        "--test-per-class",
        type=_test_per_class,
        default="min",
        metavar="{min,N,all}",
        help="test images per class: the smallest test class (min, default), N, or all",
    )
    parser.add_argument(
        "--selection",
        choices=("random", "first", "ldam"),
        default="random",
        help="how images are chosen; ldam reproduces LDAM-DRW's IMBALANCECIFAR (default: random)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--download", action="store_true", help="download the dataset files if they are missing"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="manifest path (.json); a directory gets the standard name "
        "<dataset>-lt-<profile><ratio>-seed<seed>.json",
    )
    parser.set_defaults(func=run)


def manifest_name(dataset: str, profile: str, ratio: float, seed: int, selection: str) -> str:
    """The standard manifest file name, e.g. ``cifar10-lt-exp100-seed0.json``."""
    suffix = "" if selection == "random" else f"-{selection}"
    return f"{dataset}-lt-{profile}{ratio:g}-seed{seed}{suffix}.json"


#: the library's argument names as the command line spells them, for error messages
_FLAGS = {
    "`imbalance_ratio`": "--ratio",
    "`n_max`": "--n-max",
    "`val_per_class`": "--val-per-class",
    "`test_per_class`": "--test-per-class",
    "`minority_fraction`": "--minority-fraction",
    "`seed`": "--seed",
}


def format_table(split: Any, class_names: list[str] | None) -> str:
    """The per-class counts of a split as a text table (one row per class, then the totals)."""
    counts = split.class_counts
    columns = [name for name in ("train", "val", "test") if counts.get(name) is not None]
    ids = [str(c) for c in split.classes]
    names = class_names if class_names is not None and len(class_names) == len(ids) else None
    id_width = max(len("class"), *(len(i) for i in ids))
    name_width = max(len("name"), *(len(n) for n in names)) if names else 0
    name_head = f"  {'name':<{name_width}}" if names else ""
    header = f"{'class':<{id_width}}{name_head}" + "".join(f"{c:>8}" for c in columns)
    lines = [header, "-" * len(header)]
    for i, cls in enumerate(ids):
        name = f"  {names[i]:<{name_width}}" if names else ""
        lines.append(f"{cls:<{id_width}}{name}" + "".join(f"{counts[c][i]:>8}" for c in columns))
    lines.append("-" * len(header))
    total = f"{'total':<{id_width}}" + (" " * (name_width + 2) if names else "")
    lines.append(total + "".join(f"{sum(counts[c]):>8}" for c in columns))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..datasets import long_tail_split
    from ..datasets._vision import load_source

    if args.table is not None or args.hf_dataset is not None or args.column is not None:
        return run_split(args)
    if args.dataset is None:
        raise CommandError("pass a DATASET name, or --table FILE / --hf-dataset DIR with --column.")
    root = Path(args.root)
    if not root.is_dir():
        raise CommandError(
            f"--root {str(root)!r} is not a directory: pass the folder that holds the "
            f"{args.dataset} files (see datasets/README.md)."
        )
    train = load_source(args.dataset, root, train=True, download=args.download)
    test = load_source(args.dataset, root, train=False, download=args.download)
    try:
        split = long_tail_split(
            train,
            test,
            imbalance_ratio=args.ratio,
            profile=args.profile,
            n_max=args.n_max,
            val_per_class=args.val_per_class,
            test_per_class=args.test_per_class,
            seed=args.seed,
            selection=args.selection,
            minority_fraction=args.minority_fraction,
        )
    except (TypeError, ValueError) as exc:
        message = str(exc)
        for name, flag in _FLAGS.items():
            message = message.replace(name, flag)
        raise CommandError(message) from exc
    p = split.parameters
    print(
        f"{args.dataset}-LT: profile={p['profile']} imbalance_ratio={p['imbalance_ratio']:g} "
        f"n_max={p['n_max']} seed={p['seed']} selection={p['selection']}"
    )
    print(format_table(split, list(getattr(train, "classes", [])) or None))
    if args.out is not None:
        out = args.out
        if out.is_dir():
            out = out / manifest_name(
                args.dataset, p["profile"], p["imbalance_ratio"], p["seed"], p["selection"]
            )
        written = split.save(out)
        print(f"manifest written to {written}")
    return 0
