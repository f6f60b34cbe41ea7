"""``AugmentedDataset``: serve a resampled index multiset, augmenting the repeats."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import Dataset, Subset

from .._labels import LabelArray, get_labels
from .._rng import resolve_seed
from .._validation import check_choice, check_int, check_seed, describe_value
from .._validation import check_indices as _check_indices
from ._images import ImageSpec, from_hwc, to_hwc
from ._seeding import ItemRandom

__all__ = ["AugmentedDataset"]

AugmentMode = Literal["repeats", "all", "none"]
_PAIR = (tuple, list)
_MODES = ("repeats", "all", "none")


def check_dataset(dataset: Any, name: str = "dataset") -> int:
    """Check that ``dataset`` is a map-style dataset with a length; return the length."""
    if (
        not hasattr(dataset, "__getitem__")
        or not hasattr(dataset, "__len__")
        or isinstance(dataset, str | bytes | dict)
    ):
        raise TypeError(
            f"`{name}` should be a map-style dataset (with __getitem__ and __len__), but got "
            f"{describe_value(dataset)} of type {type(dataset).__name__}."
        )
    return len(dataset)


def check_transform(transform: Any, augment: Any) -> AugmentMode:
    """Check ``augment`` and ``transform`` together; return ``augment``."""
    mode: AugmentMode = check_choice(augment, "augment", _MODES)  # type: ignore[assignment]
    if transform is None and mode != "none":
        raise ValueError(
            f"`transform` should be an albumentations transform when augment={mode!r}, "
            "but got transform=None. Pass a pipeline (e.g. balancers.augment."
            "default_pipeline()) or augment='none'."
        )
    if transform is not None and not callable(transform):
        raise TypeError(
            "`transform` should be a callable albumentations transform (e.g. A.Compose"
            f"([...])), but got transform={describe_value(transform)} of type "
            f"{type(transform).__name__}."
        )
    return mode


def check_indices(indices: Any, n: int, name: str = "indices") -> npt.NDArray[np.int64]:
    """Convert ``indices`` to a read-only int64 array of positions in ``[0, n)``."""
    arr = _check_indices(indices, name, size=n)
    arr.setflags(write=False)
    return arr


def first_occurrences(indices: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Mask of positions holding the first occurrence of their index."""
    mask = np.zeros(indices.shape[0], dtype=np.bool_)
    _, first = np.unique(indices, return_index=True)
    mask[first] = True
    return mask


def private_copy(transform: Any) -> Any:
    """A deep copy of ``transform`` (made once), so that seeding it leaves the caller's alone."""
    if transform is None:
        return None
    try:
        return copy.deepcopy(transform)
    except Exception as exc:
        culprit = _uncopyable_part(transform)
        raise TypeError(
            f"`transform` should be copyable with copy.deepcopy (AugmentedDataset seeds its own "
            f"copy and never modifies yours), but {culprit} cannot be copied: "
            f"{type(exc).__name__}: {exc}. Keep what cannot be copied (open files, locks, "
            "clients, generators) out of the transform's attributes, or give its class a "
            "__deepcopy__ method."
        ) from exc


def _uncopyable_part(transform: Any) -> str:
    """The innermost transform of a pipeline that ``copy.deepcopy`` fails on, described."""
    for child in getattr(transform, "transforms", None) or []:
        try:
            copy.deepcopy(child)
        except Exception:
            return _uncopyable_part(child)
    return f"the transform {_short_repr(transform)}"


def _short_repr(obj: Any) -> str:
    text = repr(obj).replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def detach_transform(dataset: Any) -> tuple[Any, Callable[[Any], Any] | None]:
    """Return ``(copy of dataset without its image transform, that transform)``.

    Handles datasets with a ``transform`` attribute (torchvision datasets, custom ones) and chains
    of ``Subset`` over them. The caller's dataset is not modified (shallow copies).
    """
    if isinstance(dataset, Subset):
        inner, transform = detach_transform(dataset.dataset)
        if transform is None:
            return dataset, None
        return Subset(inner, dataset.indices), transform
    transform = getattr(dataset, "transform", None)
    if transform is None or not callable(transform):
        return dataset, None
    raw = copy.copy(dataset)
    raw.transform = None
    if hasattr(raw, "transforms"):
        from torchvision.datasets.vision import StandardTransform

        if isinstance(raw.transforms, StandardTransform):
            raw.transforms = StandardTransform(None, getattr(raw, "target_transform", None))
    return raw, transform


def _image_of(result: Any, spec: ImageSpec) -> Any:
    """The image of a pipeline's result, as the kind described by ``spec``."""
    if not isinstance(result, dict) or "image" not in result:
        raise TypeError(
            "`transform` should follow the albumentations convention transform(image=array) "
            f"-> {{'image': array, ...}}, but it returned {describe_value(result)}."
        )
    image = result["image"]
    if type(image) is not np.ndarray:
        image = np.asarray(image)
    elif spec.kind == "numpy" and image.dtype is spec.dtype and image.ndim == spec.ndim:
        return image  # the common case, as from_hwc would return it
    return from_hwc(image, spec)


class _Items(Dataset[Any]):
    """A plain sequence of items seen as a Dataset (so that labels can be read from it)."""

    def __init__(self, items: Any) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Any:
        return self.items[i]


class AugmentedDataset(Dataset[Any]):
    """Serve ``dataset[indices[k]]``, putting repeated items through an albumentations pipeline.

    The usual input is the index multiset of an oversampler (:func:`balancers.random_oversample`,
    :func:`balancers.ml_ros`): in ``"repeats"`` mode the first occurrence of each original index
    is served untouched and every further occurrence (a clone) is augmented, so the model sees new
    pixels instead of the same image many times (the augmentation counterpart of SMOTE-like
    synthesis for images; see Buda et al. 2018, "A systematic study of the class imbalance problem
    in convolutional neural networks", and Shorten & Khoshgoftaar 2019, "A survey on image data
    augmentation for deep learning").

    Guarantees:

    * item ``k`` of epoch ``e`` is a pure function of ``(seed, e, k)``: the same pixels with 0 or N
      DataLoader workers, in any process and on every DDP rank;
    * different epochs give different augmentations of the same clone;
    * non-augmented items equal ``dataset[indices[k]]`` exactly;
    * the image comes back as the kind it was given (PIL image, HWC numpy array or CHW tensor) with
      the same dtype; the target and any further fields pass through unchanged (class ids,
      multilabel vectors);
    * no global random state (``random``, ``numpy.random``, ``torch``) is read or changed, and
      the caller's ``transform`` object is never modified: the dataset seeds its own deep copy,
      ``self.transform``, made once at construction;
    * an error raised by the pipeline propagates once, as a ``RuntimeError`` naming the item
      ``k`` and its source index (the original error chained); no item is run twice.

    One dataset object must not be read from several threads at once (DataLoader workers are
    processes, which is fine).

    The dataset's own ``transform`` (torchvision datasets, e.g. ``ToTensor()`` + ``Normalize``) is
    applied *after* the augmentation: the pipeline sees the raw image, as albumentations expects.
    With ``dataset_transform="keep"`` the dataset is used as is and the pipeline sees its output.

    Epochs: call ``set_epoch(e)`` before iterating the DataLoader for epoch ``e``, next to
    ``sampler.set_epoch(e)`` (the epoch lives in shared memory, so this reaches persistent
    workers too). Without it every epoch repeats epoch 0's augmentations.

    Args:
        dataset: a map-style dataset whose items are ``(image, target, ...)`` tuples or images.
        indices: 1-D integer positions into ``dataset`` (repeats allowed).
        transform: an albumentations transform (called as ``transform(image=array)["image"]``);
            may be None only with ``augment="none"``.
        augment: ``"repeats"`` (default) augments every occurrence of an index after its first,
            ``"all"`` augments every item, ``"none"`` none.
        seed: seed of the augmentations (None: fresh entropy, fixed at construction).
        dataset_transform: ``"after"`` (default) moves the dataset's own ``transform`` after the
            augmentation; ``"keep"`` leaves the dataset untouched.

    Raises:
        TypeError: ``dataset`` is not a map-style dataset, ``indices`` are not integers,
            ``transform`` is not callable or cannot be copied with ``copy.deepcopy``, or another
            argument has the wrong type.
        ValueError: ``indices`` empty, not 1-D or out of range; ``augment`` or
            ``dataset_transform`` not one of the choices; ``transform=None`` with augmentation on.

    Example:
        >>> import numpy as np, albumentations as A
        >>> images = [np.full((8, 8, 3), i * 40, dtype=np.uint8) for i in range(3)]
        >>> data = list(zip(images, [0, 0, 1]))
        >>> ds = AugmentedDataset(data, [0, 1, 2, 2], A.Compose([A.HorizontalFlip(p=1.0)]))
        >>> ds.augmented.tolist()
        [False, False, False, True]
        >>> img, target = ds[3]
        >>> img.shape, target
        ((8, 8, 3), 1)
    """

    def __init__(
        self,
        dataset: Any,
        indices: Any,
        transform: Callable[..., Any] | None,
        *,
        augment: AugmentMode = "repeats",
        seed: int | None = 0,
        dataset_transform: Literal["after", "keep"] = "after",
    ) -> None:
        n = check_dataset(dataset)
        self.augment = check_transform(transform, augment)
        self.dataset_transform = check_choice(
            dataset_transform, "dataset_transform", ("after", "keep")
        )
        self.indices = check_indices(indices, n)
        self.transform = private_copy(transform)
        self.seed = resolve_seed(check_seed(seed))
        self.dataset = dataset
        if self.dataset_transform == "after":
            self._source, self._post = detach_transform(dataset)
        else:
            self._source, self._post = dataset, None
        if self.augment == "repeats":
            mask = ~first_occurrences(self.indices)
        else:
            mask = np.full(self.indices.shape[0], self.augment == "all", dtype=np.bool_)
        mask.setflags(write=False)
        self._augmented = mask
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()  # type: ignore[no-untyped-call]
        self._epoch_view = self._epoch.numpy()  # fast reads of the shared value
        self._random = ItemRandom(self.seed)
        self._targets: LabelArray | None = None
        self._n = int(self.indices.shape[0])

    # -- epochs -------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch whose augmentations are served."""
        return int(self._epoch_view)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_epoch_view"]  # a numpy view would be pickled as a copy
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._epoch_view = self._epoch.numpy()

    def set_epoch(self, epoch: int) -> None:
        """Serve the augmentations of ``epoch`` (call before iterating the loader)."""
        self._epoch.fill_(check_int(epoch, "epoch", minimum=0))

    # -- what is served -----------------------------------------------------------------------
    @property
    def augmented(self) -> npt.NDArray[np.bool_]:
        """Read-only mask: ``augmented[k]`` tells whether item ``k`` goes through the pipeline."""
        return self._augmented

    @property
    def targets(self) -> LabelArray:
        """Labels of the served items (``labels[indices]``), read without decoding images."""
        if self._targets is None:
            self._targets = self.source_labels()[self.indices]
        return self._targets

    def source_labels(self) -> LabelArray:
        """Labels of the whole wrapped dataset (via :func:`balancers.get_labels`)."""
        source = self.dataset if isinstance(self.dataset, Dataset) else _Items(self.dataset)
        return get_labels(source, progress=False)

    def __len__(self) -> int:
        return self._n

    def augment_image(self, image: Any, k: int, epoch: int | None = None) -> Any:
        """Augment ``image`` with the random state of item ``k`` (of ``epoch``, default current).

        Raises:
            RuntimeError: the pipeline raised; the message names ``k`` and the source index.
        """
        assert self.transform is not None
        arr, spec = to_hwc(image)
        e = self.epoch if epoch is None else epoch
        try:
            result = self._random.call(self.transform, e, k, arr)
        except Exception as exc:
            raise RuntimeError(
                f"The augmentation pipeline raised on item k={k} (source index "
                f"{self.indices.item(k)}, epoch {e}): {type(exc).__name__}: {exc}"
            ) from exc
        return _image_of(result, spec)

    def _served(self, item: Any, image: Any, post: bool) -> Any:
        """``item`` with its image replaced by ``image`` (then the moved dataset transform)."""
        if post and self._post is not None:
            image = self._post(image)
        if isinstance(item, tuple):
            return (image, *item[1:])
        if isinstance(item, list):
            return [image, *item[1:]]
        return image

    def get(self, k: int, *, post: bool = True) -> Any:
        """Item ``k``; ``post=False`` skips the dataset transform moved after the augmentation."""
        n = self._n
        if not -n <= k < n:
            raise IndexError(f"index {k} is out of range for an AugmentedDataset of {n} items")
        if k < 0:
            k += n
        item = self._source[self.indices.item(k)]
        image = item[0] if isinstance(item, _PAIR) else item
        if self._augmented.item(k):
            image = self.augment_image(image, k)
        return self._served(item, image, post)

    def __getitem__(self, k: int) -> Any:
        return self.get(int(k))

    def __repr__(self) -> str:
        return (
            f"AugmentedDataset(n={len(self)}, augmented={int(self._augmented.sum())}, "
            f"augment={self.augment!r}, seed={self.seed}, epoch={self.epoch})"
        )
