"""The demo's data: a long-tailed training split and a balanced test split, as image tensors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset

__all__ = [
    "DATASETS",
    "PROFILES",
    "DemoData",
    "ImageTensors",
    "Normalize",
    "digits_split",
    "torchvision_split",
]

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashionmnist")
"""The datasets the demo runs on: scikit-learn's bundled digits, MNIST and Fashion-MNIST."""

PROFILES: tuple[str, ...] = ("exp", "step", "linear")
"""The long-tail profiles of the training split (:func:`balancers.datasets.long_tail_counts`)."""


class ImageTensors(Dataset[tuple[torch.Tensor, int]]):
    """Grayscale uint8 images ``(N, H, W)`` with class ids, served as normalized float tensors.

    ``transform`` (uint8 ``(H, W)`` -> float ``(1, H, W)``) is an attribute, like torchvision's
    datasets, so :class:`balancers.augment.AugmentedDataset` can augment the raw uint8 image
    first and normalize after.
    """

    def __init__(self, data: torch.Tensor, targets: torch.Tensor, mean: float, std: float) -> None:
        self.data = data
        self.targets = targets
        self.transform: Callable[[torch.Tensor], torch.Tensor] | None = Normalize(mean, std)

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.data[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[i])


class Normalize:
    """uint8 ``(H, W)`` -> normalized float ``(1, H, W)``."""

    def __init__(self, mean: float, std: float) -> None:
        self.mean, self.std = mean, std

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        return ((image.to(torch.float32) / 255.0 - self.mean) / self.std).unsqueeze(0)


@dataclass(frozen=True)
class DemoData:
    """A long-tailed training split and a balanced test split of one dataset."""

    name: str
    description: str
    train_images: torch.Tensor  # uint8 (N, H, W)
    train_labels: npt.NDArray[np.int64]
    test_images: torch.Tensor
    test_labels: npt.NDArray[np.int64]
    classes: list[int]
    train_counts: list[int]
    test_per_class: int
    train_indices: npt.NDArray[np.int64]  # positions in the source training set
    test_indices: npt.NDArray[np.int64]  # positions in the source test set (digits: same set)

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    def normalization(self) -> tuple[float, float]:
        pixels = self.train_images.to(torch.float64) / 255.0
        return float(pixels.mean()), float(pixels.std())


def digits_split(
    ratio: float, profile: str, seed: int, n_max: int | None, test_per_class: int | None
) -> DemoData:
    from sklearn.datasets import load_digits

    from ..datasets import balanced_indices, long_tail_counts, long_tail_indices

    digits = load_digits()
    images = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    per_class = 50 if test_per_class is None else test_per_class
    test_idx = balanced_indices(labels, per_class, seed=seed)
    pool = np.setdiff1d(np.arange(labels.shape[0]), test_idx)
    available = int(np.bincount(labels[pool]).min())
    head = available if n_max is None else n_max
    if head > available:
        raise ValueError(
            f"`n_max` should be at most {available} for the digits (the smallest class has "
            f"{available} images left after the test split), but got n_max={head}."
        )
    counts = long_tail_counts(head, 10, ratio, profile)  # type: ignore[arg-type]
    train_idx = pool[long_tail_indices(labels[pool], counts, seed=seed)]
    return DemoData(
        name="digits",
        description="scikit-learn handwritten digits (8x8)",
        train_images=torch.from_numpy(images[train_idx]),
        train_labels=labels[train_idx],
        test_images=torch.from_numpy(images[test_idx]),
        test_labels=labels[test_idx],
        classes=list(range(10)),
        train_counts=[int(c) for c in counts],
        test_per_class=per_class,
        train_indices=train_idx.astype(np.int64),
        test_indices=test_idx.astype(np.int64),
    )


def torchvision_split(
    name: str,
    root: Path,
    download: bool,
    ratio: float,
    profile: str,
    seed: int,
    n_max: int | None,
    test_per_class: int | None,
) -> DemoData:
    from ..datasets import load_source, long_tail_split

    if not root.is_dir() and not download:
        raise FileNotFoundError(
            f"--root {str(root)!r} is not a directory: pass the data root that holds "
            f"{'MNIST' if name == 'mnist' else 'FashionMNIST'}/raw/ with the four uncompressed "
            "IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            "t10k-labels-idx1-ubyte), as torchvision lays them out."
        )
    train = load_source(name, root, train=True, download=download)
    test = load_source(name, root, train=False, download=download)
    split = long_tail_split(
        train,
        test,
        imbalance_ratio=ratio,
        profile=profile,  # type: ignore[arg-type]
        n_max=n_max,
        test_per_class="min" if test_per_class is None else test_per_class,
        seed=seed,
    )
    assert split.test_indices is not None
    train_idx = torch.from_numpy(split.train_indices)
    test_idx = torch.from_numpy(split.test_indices)
    test_labels = test.targets[test_idx].numpy().astype(np.int64)
    title = "MNIST" if name == "mnist" else "Fashion-MNIST"
    return DemoData(
        name=name,
        description=f"{title} (28x28)",
        train_images=train.data[train_idx],
        train_labels=train.targets[train_idx].numpy().astype(np.int64),
        test_images=test.data[test_idx],
        test_labels=test_labels,
        classes=[int(c) for c in split.classes],
        train_counts=[int(c) for c in split.counts],
        test_per_class=int(np.bincount(test_labels).max()),
        train_indices=split.train_indices,
        test_indices=split.test_indices,
    )
