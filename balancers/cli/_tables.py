"""Labels from Parquet/CSV columns and saved Hugging Face datasets, for ``describe`` and ``split``.

``balancers describe FILE --column C`` and ``balancers describe --hf-dataset DIR --column C``
read one label column (through Arrow, nothing else decoded); ``balancers split --table FILE
--column C`` and ``balancers split --hf-dataset DIR --column C`` make a stratified train/test
split of the rows (multilabel-aware) and write the row indices, or the two parts of the dataset.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from . import CommandError
from ._output import check_file, check_folder, writing

__all__ = ["add_source_options", "read_labels", "run_split"]


def add_source_options(parser: argparse.ArgumentParser, *, table: bool = False) -> None:
    """Add ``--column`` and ``--hf-dataset`` (and ``--table FILE`` when ``table``)."""
    if table:
        parser.add_argument(
            "--table", type=Path, metavar="FILE", help="read labels from a .parquet/.csv file"
        )
    parser.add_argument(
        "--hf-dataset",
        type=Path,
        metavar="DIR",
        help="read labels from a Hugging Face dataset saved with save_to_disk",
    )
    parser.add_argument(
        "--column",
        help="the label column of a .parquet/.csv file or of --hf-dataset: class ids or names, "
        "or a list of ids per row (multilabel)",
    )


def _load_dataset(directory: Path, split: str | None) -> Any:
    from .._optional import import_optional

    datasets = import_optional("datasets", extra="hf")
    if not directory.is_dir():
        raise CommandError(f"--hf-dataset {str(directory)!r} is not a directory.")
    try:
        data = datasets.load_from_disk(str(directory))
    except FileNotFoundError as exc:
        raise CommandError(
            f"--hf-dataset {directory} holds no dataset saved with save_to_disk."
        ) from exc
    if isinstance(data, datasets.DatasetDict):
        name = split or "train"
        if name not in data:
            raise CommandError(
                f"--hf-dataset {directory} is a DatasetDict without a {name!r} split; it has "
                f"{', '.join(data)}."
            )
        return data[name]
    return data


def read_labels(args: argparse.Namespace, path: Path | None) -> tuple[Any, str, Any] | None:
    """``(labels, source, dataset or None)`` when the arguments name a table source, else None."""
    from .._tables import read_label_file, table_labels

    directory = getattr(args, "hf_dataset", None)
    if directory is None and args.column is None:
        return None
    if args.column is None:
        raise CommandError("--hf-dataset needs --column NAME (the label column).")
    if directory is not None:
        if path is not None:
            raise CommandError("pass either a label file or --hf-dataset DIR, not both.")
        dataset = _load_dataset(directory, getattr(args, "split", None))
        return table_labels(dataset, args.column), f"{directory} [{args.column}]", dataset
    if path is None:
        raise CommandError("--column needs a .parquet/.csv file or --hf-dataset DIR.")
    return read_label_file(path, args.column), f"{path} [{args.column}]", None


def _count_table(labels: Any, train: Any, test: Any) -> str:
    from .._labels import check_labels

    checked = check_labels(labels)
    one_hot = checked.dense()
    rows = [("class", "train", "test", "test share")]
    for j, name in enumerate(checked.classes.tolist()):
        n_train, n_test = int(one_hot[train, j].sum()), int(one_hot[test, j].sum())
        total = max(n_train + n_test, 1)
        rows.append((str(name), str(n_train), str(n_test), f"{n_test / total:.3f}"))
    rows.append(("total", str(len(train)), str(len(test)), f"{len(test) / checked.n_samples:.3f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = zip(row[1:], widths[1:], strict=True)
        lines.append(row[0].ljust(widths[0]) + "".join(f"  {v:>{w}}" for v, w in cells))
    return "\n".join(lines)


def _check_out(args: argparse.Namespace, dataset: Any) -> Path | None:
    """The ``--out`` path, checked before any work: a .json file, or a folder for a dataset."""
    if args.out is None:
        return None
    if str(args.out).lower().endswith(".json"):
        return check_file(args.out, "--out")
    if dataset is None:
        raise CommandError(f"--out {args.out} should be a .json file for --table input.")
    out = Path(args.out)
    check_folder(out, "--out")
    return out


def run_split(args: argparse.Namespace) -> int:
    """``balancers split --table FILE | --hf-dataset DIR --column C``: a stratified split."""
    from ..model_selection import iterative_train_test_split

    if args.dataset is not None:
        raise CommandError(f"pass either {args.dataset} or --table/--hf-dataset, not both.")
    found = read_labels(args, args.table)
    if found is None:
        raise CommandError("--table FILE needs --column NAME (the label column).")
    labels, source, dataset = found
    out = _check_out(args, dataset)
    try:
        train, test = iterative_train_test_split(
            labels, test_size=args.test_size, random_state=args.seed
        )
    except (TypeError, ValueError) as exc:
        raise CommandError(str(exc).replace("`test_size`", "--test-size")) from exc
    print(f"stratified split of {source}: test_size={args.test_size:g} seed={args.seed}")
    print(_count_table(labels, train, test))
    if out is None:
        return 0
    if out.suffix.lower() == ".json":
        record = {
            "source": source,
            "test_size": args.test_size,
            "seed": args.seed,
            "train": train.tolist(),
            "test": test.tolist(),
        }
        with writing(out, "--out", within=out.parent):
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(record))
        print(f"row indices written to {out}")
    else:
        from .._optional import import_optional

        datasets = import_optional("datasets", extra="hf")
        parts = datasets.DatasetDict({"train": dataset.select(train), "test": dataset.select(test)})
        with writing(out, "--out"):
            parts.save_to_disk(str(out))
        print(f"DatasetDict (train, test) written to {out}")
    return 0
