"""Long-tailed versions of the torchvision CIFAR-10/100, MNIST and Fashion-MNIST datasets."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

import numpy as np
import numpy.typing as npt
import torch
from torchvision.datasets import CIFAR10, CIFAR100, MNIST, FashionMNIST

from .._validation import check_choice
from ._indices import Selection, check_multiclass
from ._profiles import Profile
from ._split import SplitParams, TestPerClass, test_indices, train_val_indices

__all__ = [
    "CIFAR100LT",
    "CIFAR10LT",
    "FashionMNISTLT",
    "MNISTLT",
    "SOURCES",
    "load_source",
    "missing_files_message",
]

Split = Literal["train", "val", "test"]
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")

_WHERE: dict[str, str] = {
    "cifar10": (
        "CIFAR-10 expects the folder {root}/cifar-10-batches-py (data_batch_1..5, test_batch, "
        "batches.meta), extracted from cifar-10-python.tar.gz "
        "(https://www.cs.toronto.edu/~kriz/cifar.html)"
    ),
    "cifar100": (
        "CIFAR-100 expects the folder {root}/cifar-100-python (train, test, meta), extracted "
        "from cifar-100-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html)"
    ),
    "mnist": (
        "MNIST expects the uncompressed files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in {root}/MNIST/raw"
    ),
    "fashionmnist": (
        "Fashion-MNIST expects the uncompressed files train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in "
        "{root}/FashionMNIST/raw"
    ),
}


def missing_files_message(name: str, root: str | os.PathLike[str]) -> str:
    """One line saying where the files of dataset ``name`` go under ``root``."""
    where = _WHERE[name].format(root=os.fspath(root))
    return (
        f"{name} not found or corrupted under root={os.fspath(root)!r}: {where}. Put the files "
        "there or download them (download=True, or --download on the command line; see "
        "datasets/README.md)."
    )


class _LongTail:
    """Shared logic of the long-tailed datasets (the torchvision class comes next in the MRO)."""

    _source_name: ClassVar[str]
    root: Any
    data: Any
    targets: Any

    def __init__(
        self,
        root: str | Path,
        *,
        split: Split = "train",
        imbalance_ratio: float = 100,
        profile: Profile = "exp",
        seed: int = 0,
        selection: Selection = "random",
        n_max: int | None = None,
        val_per_class: int = 0,
        test_per_class: TestPerClass = "min",
        minority_fraction: float = 0.5,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[..., Any] | None = None,
        download: bool = False,
    ) -> None:
        split = cast(Split, check_choice(split, "split", SPLIT_NAMES))
        params = SplitParams.check(
            imbalance_ratio=imbalance_ratio,
            profile=profile,
            n_max=n_max,
            val_per_class=val_per_class,
            test_per_class=test_per_class,
            seed=seed,
            selection=selection,
            minority_fraction=minority_fraction,
        )
        if split == "val" and params.val_per_class == 0:
            raise ValueError(
                "`val_per_class` should be positive for split='val', but got val_per_class=0. "
                "Pass the same val_per_class to the train and val splits, e.g. val_per_class=20."
            )
        try:
            cast(Any, super()).__init__(
                root,
                train=split != "test",
                transform=transform,
                target_transform=target_transform,
                download=download,
            )
        except RuntimeError as exc:
            if download:
                raise
            raise FileNotFoundError(missing_files_message(self._source_name, root)) from exc
        info = check_multiclass(np.asarray(self.targets), "targets")
        if split == "test":
            indices = test_indices(info, params)
        else:
            _, kept, val = train_val_indices(info, params)
            indices = kept if split == "train" else cast(npt.NDArray[np.int64], val)
        assert info.codes is not None
        self.split: Split = split
        self.params = params
        self.indices: npt.NDArray[np.int64] = indices
        self.class_counts: list[int] = np.bincount(
            info.codes[indices], minlength=info.n_classes
        ).tolist()
        self._select(indices)

    @property
    def imbalance_ratio(self) -> float:
        return self.params.imbalance_ratio

    @property
    def profile(self) -> str:
        return self.params.profile

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def selection(self) -> str:
        return self.params.selection

    def _select(self, indices: npt.NDArray[np.int64]) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        p = self.params
        lines = [f"Split: {self.split}"]
        if self.split == "test":
            per = "all" if p.test_per_class is None else p.test_per_class
            lines.append(f"Test per class: {per}")
        else:
            lines += [
                f"Imbalance ratio: {p.imbalance_ratio:g}",
                f"Profile: {p.profile}",
                f"Selection: {p.selection}",
            ]
            if self.split == "val":
                lines.append(f"Val per class: {p.val_per_class}")
        lines.append(f"Seed: {p.seed}")
        return "\n".join(lines)


class _CIFARLongTail(_LongTail):
    def _select(self, indices: npt.NDArray[np.int64]) -> None:
        self.data = self.data[indices]
        self.targets = np.asarray(self.targets, dtype=np.int64)[indices].tolist()


class _MNISTLongTail(_LongTail):
    _folder: ClassVar[str]

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self._folder, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self._folder, "processed")

    def _select(self, indices: npt.NDArray[np.int64]) -> None:
        index = torch.from_numpy(indices)
        self.data = self.data[index]
        self.targets = self.targets[index]


_DOC = """Long-tailed {title}: a subclass of ``torchvision.datasets.{base}``.

    ``split="train"`` keeps a long-tailed subset of the training images (counts from
    :func:`balancers.datasets.long_tail_counts`, class 0 the head), ``split="val"`` a balanced
    validation set drawn from the training images not kept (needs ``val_per_class > 0``; pass
    the same arguments to both), ``split="test"`` a balanced subset of the test images.
    ``.data`` and ``.targets`` hold only the selected samples (same types as torchvision's);
    ``.indices`` are their positions in the full torchvision set and ``.class_counts`` the
    samples per class. Everything else (``classes``, ``class_to_idx``, ``__getitem__``,
    transforms) is torchvision's. {files}

    Guarantees:

    * the same arguments give the same samples on any machine (no global RNG);
    * train and val never share an image;
    * ``selection="ldam"`` gives exactly the training set of LDAM-DRW's ``IMBALANCE{base}``
      for the same ratio, profile and seed, in the same order.

    Args:
        root: the data root (the folder holding the files described above).
        split: ``"train"``, ``"val"`` or ``"test"``.
        imbalance_ratio: ``n_max / n_min`` (100 means 1:100).
        profile: ``"exp"``, ``"step"`` or ``"linear"``.
        seed: the random seed.
        selection: ``"random"``, ``"first"`` or ``"ldam"``.
        n_max: the head class size (default: see :func:`balancers.datasets.long_tail_split`).
        val_per_class: validation images per class.
        test_per_class: test images per class (``"min"``, an integer or None for all).
        minority_fraction: for ``profile="step"``, the fraction of minority classes.
        transform: applied to the PIL image.
        target_transform: applied to the target.
        download: download the files if missing (torchvision's downloader).

    Raises:
        FileNotFoundError: the files are missing (the message says where they go).
        ValueError: bad parameters, as for :func:`balancers.datasets.long_tail_split`.

    References:
        Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
        NeurIPS 2019.

    Example:
        >>> ds = {name}("datasets", imbalance_ratio=100)  # doctest: +SKIP
        >>> ds.class_counts  # doctest: +SKIP
        {counts}
    """


class CIFAR10LT(_CIFARLongTail, CIFAR10):  # type: ignore[misc]
    __doc__ = _DOC.format(
        title="CIFAR-10 (CIFAR-10-LT)",
        base="CIFAR10",
        name="CIFAR10LT",
        files="Files: ``root/cifar-10-batches-py``.",
        counts="[5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]",
    )
    _source_name = "cifar10"


class CIFAR100LT(_CIFARLongTail, CIFAR100):  # type: ignore[misc]
    __doc__ = _DOC.format(
        title="CIFAR-100 (CIFAR-100-LT)",
        base="CIFAR100",
        name="CIFAR100LT",
        files="Files: ``root/cifar-100-python``.",
        counts="[500, 477, 455, ..., 5]",
    )
    _source_name = "cifar100"


class MNISTLT(_MNISTLongTail, MNIST):  # type: ignore[misc]
    __doc__ = _DOC.format(
        title="MNIST",
        base="MNIST",
        name="MNISTLT",
        files="Files: ``root/MNIST/raw`` (the same folder as torchvision's MNIST).",
        counts="[5421, 3249, 1948, 1167, 700, 419, 251, 150, 90, 54]",
    )
    _source_name = "mnist"
    _folder = "MNIST"


class FashionMNISTLT(_MNISTLongTail, FashionMNIST):  # type: ignore[misc]
    __doc__ = _DOC.format(
        title="Fashion-MNIST",
        base="FashionMNIST",
        name="FashionMNISTLT",
        files="Files: ``root/FashionMNIST/raw`` (the same folder as torchvision's).",
        counts="[6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]",
    )
    _source_name = "fashionmnist"
    _folder = "FashionMNIST"


#: the plain torchvision classes behind each dataset name
SOURCES: dict[str, type[Any]] = {
    "cifar10": CIFAR10,
    "cifar100": CIFAR100,
    "mnist": MNIST,
    "fashionmnist": FashionMNIST,
}


def load_source(
    name: str, root: str | os.PathLike[str], *, train: bool, download: bool = False
) -> Any:
    """The plain torchvision dataset by name, train or test part, with a clear error when its
    files are missing (torchvision's own is a RuntimeError that does not say where they go).

    Args:
        name: ``"mnist"``, ``"fashionmnist"``, ``"cifar10"`` or ``"cifar100"``.
        root: the data root, in torchvision's layout.
        train: the training part (True) or the test part (False).
        download: download the files if they are missing (torchvision's downloader).

    Raises:
        ValueError: unknown ``name``.
        FileNotFoundError: the files are missing; the message says where they go.

    Example:
        >>> load_source("mnist", "no-such-folder", train=True)
        Traceback (most recent call last):
        FileNotFoundError: mnist not found or corrupted under root='no-such-folder': MNIST expects ...
    """
    name = check_choice(name, "dataset", tuple(SOURCES))
    try:
        return SOURCES[name](os.fspath(root), train=train, download=download)
    except RuntimeError as exc:
        if download:
            raise
        raise FileNotFoundError(missing_files_message(name, root)) from exc
