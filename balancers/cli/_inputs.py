"""The datasets the commands read: a torchvision dataset by name or an ``ImageFolder`` tree,
whole or one part of a long-tail split manifest.

``describe``, ``split`` and ``materialize`` accept the same kinds (:data:`DATASETS`). torch and
torchvision are imported when a dataset is loaded, not when the command line is parsed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from . import CommandError

__all__ = [
    "DATASETS",
    "DATASET_HELP",
    "TORCHVISION",
    "check_root",
    "check_split",
    "load_dataset",
    "load_image_folder",
    "load_manifest_part",
]

#: the torchvision datasets read by name from a data root
TORCHVISION: tuple[str, ...] = ("mnist", "fashionmnist", "cifar10", "cifar100")
#: every dataset kind the commands take
DATASETS: tuple[str, ...] = (*TORCHVISION, "imagefolder")

DATASET_HELP = (
    "mnist, fashionmnist, cifar10, cifar100 (torchvision files under --root) or imagefolder "
    "(--root holds one folder of images per class)"
)


def check_root(root: Path | None, dataset: str) -> Path:
    """``root`` is an existing folder (the data root, or the ImageFolder tree)."""
    if root is None:
        raise CommandError(f"--dataset {dataset} needs --root DIR (the data root).")
    if not root.is_dir():
        what = "the class folders" if dataset == "imagefolder" else f"the {dataset} files"
        raise CommandError(
            f"--root {str(root)!r} is not a directory: pass the folder that holds {what} "
            "(see datasets/README.md)."
        )
    return root


def check_split(dataset: str, split: str | None) -> None:
    """``--split`` is given only for a torchvision dataset (an ImageFolder has no parts)."""
    if dataset == "imagefolder" and split is not None:
        raise CommandError(
            f"--split {split} applies to torchvision datasets; an ImageFolder is one set of images."
        )


def load_image_folder(root: Path) -> Any:
    """``torchvision.datasets.ImageFolder(root)``, its errors as one line."""
    from torchvision.datasets import ImageFolder

    try:
        return ImageFolder(os.fspath(root))
    except FileNotFoundError as exc:
        raise CommandError(
            f"--root {str(root)!r} is not an ImageFolder tree: {str(exc).splitlines()[0]} "
            "(expected ROOT/<class>/<image>.png, one folder per class)."
        ) from exc


def load_dataset(dataset: str, root: Path, *, train: bool = True, download: bool = False) -> Any:
    """The dataset of kind ``dataset`` at ``root`` (for torchvision ones, the train or test part).

    Raises:
        CommandError: ``root`` is not a folder, or not an ImageFolder tree.
        FileNotFoundError: torchvision files missing (the message says where they go).
    """
    from ..datasets import load_source

    check_root(root, dataset)
    if dataset == "imagefolder":
        return load_image_folder(root)
    return load_source(dataset, root, train=train, download=download)


def load_manifest_part(dataset: str, root: Path, manifest: Path, part: str) -> Any:
    """Part ``part`` (train, val or test) of the long-tail split ``manifest`` applied to the
    dataset, which must be the one the manifest was made from (same labels, checked by SHA-256).

    An ImageFolder is one set: a manifest made with the folder as test source too is applied to
    the same folder.

    Raises:
        CommandError: the manifest is missing, unreadable, made from other data, or lacks the part.
    """
    from ..datasets import LongTailSplit

    if not manifest.is_file():
        what = "is a folder" if manifest.is_dir() else "does not exist"
        raise CommandError(
            f"--manifest {str(manifest)!r} {what}; pass the JSON file that "
            "'balancers split ... --out' wrote."
        )
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"--manifest {str(manifest)!r} cannot be read: {exc}") from exc
    has_test = isinstance(recorded, dict) and bool((recorded.get("source") or {}).get("test"))
    train = load_dataset(dataset, root, train=True)
    test = None
    if has_test:
        test = train if dataset == "imagefolder" else load_dataset(dataset, root, train=False)
    try:
        split = LongTailSplit.load(manifest, train, test)
    except ValueError as exc:
        raise CommandError(f"--manifest: {str(exc).splitlines()[0]}") from exc
    subset = getattr(split, part)
    if subset is None:
        raise CommandError(
            f"--manifest {str(manifest)!r} has no {part} part; choose another --part "
            "(a val part needs 'balancers split --val-per-class N')."
        )
    return subset
