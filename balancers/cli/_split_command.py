"""``balancers split``: build a long-tailed split of a dataset and save its manifest."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from . import CommandError
from ._inputs import DATASET_HELP, DATASETS, load_dataset
from ._output import check_file, is_folder_argument, writing
from ._tables import add_source_options, run_split

__all__ = ["register"]


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
        help="make a long-tailed train/val/test split of a torchvision dataset or an ImageFolder",
        description="Make a long-tailed training set (exp, step or linear profile) with balanced "
        "validation and test sets, print the class counts and write a JSON manifest that "
        "LongTailSplit.load(path, train, test) applies again (and 'balancers materialize "
        "--manifest' reads). An ImageFolder is one set of images: its balanced val and test "
        "parts are drawn from the images the long-tailed train part leaves, so pass an --n-max "
        "below the smallest class to leave room for them.",
    )
    parser.add_argument(
        "dataset",
        nargs="?",
        choices=DATASETS,
        help=DATASET_HELP + " (or --table/--hf-dataset with --column: a stratified split of rows)",
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
        help="data root holding the torchvision files, or the ImageFolder tree "
        "(default: ./datasets)",
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
        type=str,  # not Path, which drops the trailing slash that makes a folder
        default=None,
        help="manifest path (.json); a folder (an existing one, or a path ending with /, created "
        "if missing) gets the standard name <dataset>-lt-<profile><ratio>-seed<seed>.json",
    )
    parser.set_defaults(func=run)


#: the library's argument names as the command line spells them, for error messages
_FLAGS = {
    "imbalance_ratio": "--ratio",
    "n_max": "--n-max",
    "val_per_class": "--val-per-class",
    "test_per_class": "--test-per-class",
    "minority_fraction": "--minority-fraction",
    "seed": "--seed",
}
#: an argument name in a message, in backticks
_ARGUMENT = re.compile(r"`(" + "|".join(_FLAGS) + r")`")


def command_line_message(message: str) -> str:
    """A library message in command-line terms: argument names become flags.

    Example:
        >>> command_line_message("`n_max` is 9, e.g. long_tail_split(ds, ds, n_max=4, ...)")
        '--n-max is 9, e.g. --n-max 4'
    """
    message = re.sub(r"long_tail_split\(ds, ds, n_max=(\d+), \.\.\.\)", r"`n_max` \1", message)
    return _ARGUMENT.sub(lambda m: _FLAGS[m.group(1)], message)


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


def _manifest_path(args: argparse.Namespace) -> Path | None:
    """Where the manifest goes (checked before any work), or None without ``--out``."""
    from ..datasets import LongTailSplit

    if args.out is None:
        return None
    out = Path(args.out)
    if is_folder_argument(args.out):
        name = LongTailSplit.file_name(
            args.dataset, args.profile, args.ratio, args.seed, args.selection
        )
        out = out / name
    check_file(out, "--out")
    return out


def run(args: argparse.Namespace) -> int:
    from ..datasets import long_tail_split

    if args.table is not None or args.hf_dataset is not None or args.column is not None:
        return run_split(args)
    if args.dataset is None:
        raise CommandError("pass a DATASET name, or --table FILE / --hf-dataset DIR with --column.")
    if args.download and args.dataset == "imagefolder":
        raise CommandError("--download applies to torchvision datasets, not to an ImageFolder.")
    out = _manifest_path(args)
    root = Path(args.root)
    train = load_dataset(args.dataset, root, train=True, download=args.download)
    if args.dataset == "imagefolder":  # one set: test comes from what train and val leave
        test = train
    else:
        test = load_dataset(args.dataset, root, train=False, download=args.download)
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
        raise CommandError(command_line_message(str(exc))) from exc
    p = split.parameters
    print(
        f"{args.dataset}-LT: profile={p['profile']} imbalance_ratio={p['imbalance_ratio']:g} "
        f"n_max={p['n_max']} seed={p['seed']} selection={p['selection']}"
    )
    print(format_table(split, list(getattr(train, "classes", [])) or None))
    if out is not None:
        with writing(out, "--out", within=out.parent):
            written = split.save(out)
        print(f"manifest written to {written}")
    return 0
