"""``balancers describe``: the imbalance report of a label file or a dataset."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fnmatch
import gzip
import io
import json
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from . import CommandError
from ._inputs import DATASET_HELP, DATASETS, check_root, check_split, load_image_folder
from ._output import check_file, writing
from ._table_files import add_source_options, read_labels

__all__ = ["load_label_file", "read_dataset_labels", "register"]

_NPZ_KEYS = ("labels", "y", "targets", "Y")
_SPARSE_KEYS = {"data", "indices", "indptr", "format", "shape"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="print the class or label imbalance of a label file or a dataset",
        description="Print counts per class (multiclass) or per label (multilabel) with the "
        "imbalance measures: imbalance ratio; for multilabel labels also IRLbl, MeanIR, MaxIR, "
        "CVIR, SCUMBLE, cardinality, density, distinct labelsets and rows with no label. "
        "Labels come from a .npy/.npz/.csv file (PATH) or from a dataset (--dataset with "
        "--root: a torchvision dataset or an ImageFolder tree), read without decoding any "
        "image; a dataset's class names are shown next to the class ids.",
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="label file: .npy (1-D class ids or 2-D 0/1), .npz (an array, or a scipy.sparse "
        "matrix saved with save_npz), .csv/.csv.gz with a header row, or .parquet with --column",
    )
    parser.add_argument(
        "--labels",
        metavar="COLUMNS",
        help="CSV only: the label columns, comma-separated; each item a column name, a glob "
        "pattern (Class*) or an inclusive range FIRST:LAST. One column gives multiclass labels, "
        "several give a 0/1 multilabel matrix. Default: every column",
    )
    parser.add_argument(
        "--key",
        help=".npz: the array to read (default: labels, y, ...); --webdataset: the label field "
        "(default: cls)",
    )
    parser.add_argument("--dataset", choices=DATASETS, help=DATASET_HELP)
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="data root of --dataset (torchvision layout), or the ImageFolder tree",
    )
    parser.add_argument(
        "--split",
        choices=("train", "test"),
        default=None,
        help="the part of a torchvision dataset (default: train)",
    )
    parser.add_argument(
        "--plot",
        type=str,  # not Path, which drops a trailing slash (a folder, not a file name)
        metavar="FILE.png",
        help="write the bar chart to this image file (png, svg, pdf, ...)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--webdataset",
        metavar="SHARDS",
        help="count the classes of webdataset tar shards ('shards-{000..009}.tar'), reading only "
        "the --key member of each sample (default: cls), never the images",
    )
    add_source_options(parser)
    parser.set_defaults(func=run)


# ---------------------------------------------------------------------------------- label files
def _select_columns(header: list[str], spec: str | None, path: Path) -> list[int]:
    if spec is None:
        return list(range(len(header)))
    chosen: list[int] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if ":" in item:
            first, last = (s.strip() for s in item.split(":", 1))
            missing = [c for c in (first, last) if c not in header]
            if missing:
                raise CommandError(
                    f"--labels range {item!r} names column {missing[0]!r}, which {path} does not "
                    f"have; its columns are {_show(header)}."
                )
            a, b = header.index(first), header.index(last)
            if a > b:
                raise CommandError(
                    f"--labels range {item!r} runs backwards: {first!r} comes after {last!r}."
                )
            chosen += range(a, b + 1)
        elif any(ch in item for ch in "*?["):
            hits = [i for i, name in enumerate(header) if fnmatch.fnmatchcase(name, item)]
            if not hits:
                raise CommandError(
                    f"--labels pattern {item!r} matches no column of {path}; its columns are "
                    f"{_show(header)}."
                )
            chosen += hits
        else:
            if item not in header:
                raise CommandError(
                    f"--labels names column {item!r}, which {path} does not have; its columns "
                    f"are {_show(header)}."
                )
            chosen.append(header.index(item))
    if not chosen:
        raise CommandError("--labels selects no column; pass column names, e.g. --labels y.")
    return list(dict.fromkeys(chosen))


def _show(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 12 else ", ".join(names[:12]) + ", ..."


def _column_values(values: list[str], name: str) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    for dtype in (np.int64, np.float64):
        try:
            return arr.astype(dtype)
        except ValueError:
            continue
    return arr


def _read_csv(path: Path, spec: str | None) -> tuple[npt.NDArray[Any], list[str] | None]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise CommandError(f"{path} is empty: a CSV label file needs a header row.")
        header = [h.strip() for h in header]
        cols = _select_columns(header, spec, path)
        columns: list[list[str]] = [[] for _ in cols]
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise CommandError(
                    f"{path} line {line_no} has {len(row)} fields but the header has {len(header)}."
                )
            for out, c in zip(columns, cols, strict=True):
                value = row[c].strip()
                if not value:
                    raise CommandError(
                        f"{path} line {line_no}: column {header[c]!r} is empty; every label "
                        "cell needs a value."
                    )
                out.append(value)
    if not columns[0]:
        raise CommandError(f"{path} has a header but no rows.")
    arrays = [_column_values(col, header[c]) for col, c in zip(columns, cols, strict=True)]
    if len(arrays) == 1:
        return arrays[0], None
    text = [header[c] for a, c in zip(arrays, cols, strict=True) if a.dtype.kind not in "iuf"]
    if text:
        raise CommandError(
            f"{path}: column {text[0]!r} is not numeric, so it cannot be part of a 0/1 label "
            "matrix; choose the label columns with --labels (e.g. --labels 'Class*')."
        )
    return np.column_stack(arrays), [header[c] for c in cols]


def _read_npz(path: Path, key: str | None) -> Any:
    import scipy.sparse as sp

    with np.load(path, allow_pickle=False) as npz:
        keys = list(npz.files)
        if key is None and set(keys) >= _SPARSE_KEYS:
            return sp.load_npz(path)
        if key is None:
            found = [k for k in _NPZ_KEYS if k in keys]
            if found:
                key = found[0]
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise CommandError(
                    f"{path} holds several arrays ({_show(keys)}); choose one with --key."
                )
        if key not in keys:
            raise CommandError(f"--key {key!r} is not in {path}; it holds {_show(keys)}.")
        return npz[key]


def load_label_file(path: Path, *, columns: str | None = None, key: str | None = None) -> Any:
    """Labels from a ``.npy``, ``.npz`` or ``.csv`` (optionally gzipped) file.

    Raises:
        CommandError: unknown extension, unreadable content or bad column selection.
        FileNotFoundError: ``path`` does not exist.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        raise CommandError(f"{path} is a directory; pass a label file, or --dataset with --root.")
    name = path.name.lower()
    if columns is not None and not (name.endswith(".csv") or name.endswith(".csv.gz")):
        raise CommandError("--labels selects CSV columns; it does not apply to .npy/.npz files.")
    if key is not None and not name.endswith(".npz"):
        raise CommandError("--key selects an array of a .npz file; it does not apply here.")
    try:
        if name.endswith(".npy"):
            return np.load(path, allow_pickle=False), None
        if name.endswith(".npz"):
            return _read_npz(path, key), None
        if name.endswith(".csv") or name.endswith(".csv.gz"):
            return _read_csv(path, columns)
    except (OSError, ValueError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(f"could not read {path}: {str(exc).splitlines()[0]}") from exc
    raise CommandError(
        f"{path} has an unknown extension; use a .npy, .npz, .csv or .csv.gz label file."
    )


# ------------------------------------------------------------------------------------- datasets
def read_dataset_labels(
    name: str, root: Path, *, train: bool
) -> tuple[npt.NDArray[np.int64], list[str] | None]:
    """The labels and class names of a dataset, read without decoding any image.

    MNIST and Fashion-MNIST: torchvision's reader of the IDX label file. CIFAR-10/100: the
    ``labels`` / ``fine_labels`` entries of the pickled batches named by torchvision's classes,
    the names from its meta file (when there is one). ImageFolder: the folder listing
    (``targets`` and ``classes``).

    Raises:
        FileNotFoundError: the files are missing; the message says where they go.
    """
    from torchvision.datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST
    from torchvision.datasets.mnist import read_label_file

    from ..datasets import load_source

    if name == "imagefolder":
        folder = load_image_folder(root)
        return np.asarray(folder.targets, dtype=np.int64), list(folder.classes)
    if name in ("mnist", "fashionmnist"):
        cls = MNIST if name == "mnist" else FashionMNIST
        label_file = (
            root / cls.__name__ / "raw" / f"{'train' if train else 't10k'}-labels-idx1-ubyte"
        )
        if not label_file.is_file():
            load_source(name, root, train=train)  # raises the FileNotFoundError saying where
        labels = read_label_file(os.fspath(label_file)).numpy().astype(np.int64)
        return labels, list(cls.classes)
    cifar = CIFAR10 if name == "cifar10" else CIFAR100
    folder = root / cifar.base_folder
    files = [folder / file for file, _checksum in (cifar.train_list if train else cifar.test_list)]
    if not all(path.is_file() for path in files):
        load_source(name, root, train=train)  # raises the FileNotFoundError saying where
    parts = []
    for path in files:
        entry = _unpickle(path)
        values = entry.get("labels", entry.get("fine_labels"))
        if values is None:
            raise CommandError(f"{path} has neither 'labels' nor 'fine_labels'.")
        parts.append(np.asarray(values, dtype=np.int64))
    meta = folder / cifar.meta["filename"]
    names = _unpickle(meta).get(cifar.meta["key"]) if meta.is_file() else None
    return np.concatenate(parts), None if names is None else [str(c) for c in names]


def _unpickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="latin1")


# ---------------------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> int:
    from .. import describe

    labels: Any
    table = read_labels(args, args.path)  # --column / --hf-dataset
    if args.webdataset is None and table is None and (args.path is None) == (args.dataset is None):
        raise CommandError("pass either a label file PATH or --dataset NAME --root DIR.")
    plot = None if args.plot is None else check_file(args.plot, "--plot")
    names: list[str] | None = None
    if args.webdataset is not None:
        from ..streams._count import webdataset_labels_for_cli

        others = {
            "PATH": args.path,
            "--dataset": args.dataset,
            "--labels": args.labels,
            "--split": args.split,
            "--column": args.column,
        }
        labels, source = webdataset_labels_for_cli(args.webdataset, args.key, others=others)
        class_names = None
    elif table is None and args.dataset is not None:
        check_root(args.root, args.dataset)
        if args.labels is not None or args.key is not None:
            raise CommandError("--labels and --key apply to label files, not to --dataset.")
        check_split(args.dataset, args.split)
        split = args.split or "train"
        labels, class_names = read_dataset_labels(args.dataset, args.root, train=split == "train")
        source = str(args.root) if args.dataset == "imagefolder" else f"{args.dataset} ({split})"
    elif table is None:
        if args.split is not None:
            raise CommandError("--split applies to --dataset, not to a label file.")
        labels, names = load_label_file(args.path, columns=args.labels, key=args.key)
        class_names = None
        source = str(args.path)
    else:
        labels, source, class_names = table[0], table[1], None
    try:
        report = describe(labels)
    except (TypeError, ValueError) as exc:
        hint = " Choose the label columns with --labels." if args.labels is None else ""
        raise CommandError(f"{source}: {str(exc).splitlines()[0]}{hint}") from exc
    if names is not None and report.kind == "multilabel":
        report = dataclasses.replace(report, classes=names)
    if class_names is not None:
        report = dataclasses.replace(report, names=[class_names[i] for i in report.classes])
    if args.json:
        print(json.dumps({"source": source, **report.to_dict()}, indent=2))
    else:
        print(f"source: {source}")
        print(report)
    if plot is not None:
        _write_plot(report, plot)
        if not args.json:
            print(f"plot written to {plot}")
    return 0


def _write_plot(report: Any, path: Path) -> None:
    from .._optional import import_optional

    matplotlib = import_optional("matplotlib", extra="plot")
    matplotlib.use("Agg")
    plt = import_optional("matplotlib.pyplot", extra="plot")
    fig = report.plot()
    try:
        buffer = io.BytesIO()
        suffix = path.suffix.lower().lstrip(".") or "png"
        fig.savefig(buffer, format=suffix, dpi=120)
    except ValueError as exc:
        raise CommandError(f"--plot {path}: {str(exc).splitlines()[0]}") from exc
    finally:
        plt.close(fig)
    with writing(path, "--plot", within=path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
