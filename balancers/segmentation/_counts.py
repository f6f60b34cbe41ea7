"""``pixel_class_counts``: per image per class pixel counts of label masks, cached by checksum.

Each mask is counted in one vectorized pass: 8-bit masks (grayscale ``L`` or palette ``P`` PNGs)
by PIL's C histogram of the decoded image, other masks by ``np.bincount``. Masks are read by
DataLoader workers when ``num_workers > 0``. The result can be cached in a file keyed by a
checksum of the masks' bytes, so that a second call reads the file instead of decoding.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from PIL import Image as PILImage
from torch.utils.data import DataLoader, Dataset

from .._validation import check_bool, check_int, describe_value

__all__ = ["pixel_class_counts"]

_CACHE_VERSION = "balancers-pixel-counts-1"
_BATCH = 32
_EIGHT_BIT_MODES = ("L", "P")
_SOURCES = (
    "a folder of PNG masks, a list of mask files, a list or 3-D array of masks (numpy or "
    "torch), or a Dataset of masks or (image, mask) pairs"
)


class _Masks(Dataset[npt.NDArray[np.int64]]):
    """The masks of a source, each read and counted by ``__getitem__`` (runs in workers)."""

    def __init__(
        self,
        load: Callable[[int], Any],
        names: Callable[[int], str],
        n: int,
        num_classes: int,
        ignore_index: int | None,
        shape: tuple[int, int] | None,
    ) -> None:
        self.load, self.names, self.n = load, names, n
        self.num_classes, self.ignore_index, self.shape = num_classes, ignore_index, shape

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> npt.NDArray[np.int64]:
        return count_mask(
            self.load(i), self.num_classes, self.ignore_index, self.shape, self.names(i)
        )


def _open_png(path: Path) -> Any:
    image = PILImage.open(path)
    image.load()
    return image


def _check_shape(got: tuple[int, ...], shape: tuple[int, int] | None, name: str) -> None:
    if len(got) != 2:
        raise ValueError(
            f"`masks` should hold 2-D label masks (height, width) of class ids, but {name} has "
            f"shape {got}. Convert color-coded masks to class ids first."
        )
    if shape is not None and got != shape:
        raise ValueError(
            f"`masks` should all have the declared shape={shape}, but {name} has shape {got}."
        )


def _valid_bins(
    bins: npt.NDArray[np.int64], num_classes: int, ignore_index: int | None, name: str
) -> npt.NDArray[np.int64]:
    """``bins[:num_classes]`` after checking that every other value is the ignore index."""
    extra = bins[num_classes:].copy()
    if ignore_index is not None and num_classes <= ignore_index < bins.shape[0]:
        extra[ignore_index - num_classes] = 0
    if extra.any():
        value = num_classes + int(np.flatnonzero(extra)[0])
        raise ValueError(
            f"`masks` should hold class ids in [0, num_classes - 1] = [0, {num_classes - 1}] or "
            f"the ignore_index={ignore_index}, but {name} holds {value} "
            f"({int(extra.sum())} pixels). Raise num_classes or set ignore_index={value}."
        )
    out = np.zeros(num_classes, dtype=np.int64)
    out[: min(num_classes, bins.shape[0])] = bins[:num_classes]
    if ignore_index is not None and 0 <= ignore_index < num_classes:
        out[ignore_index] = 0
    return out


def count_mask(
    mask: Any,
    num_classes: int,
    ignore_index: int | None,
    shape: tuple[int, int] | None,
    name: str,
) -> npt.NDArray[np.int64]:
    """Pixels of each class ``0..num_classes-1`` in one mask (PIL image, numpy or torch)."""
    if isinstance(mask, PILImage.Image):
        _check_shape((mask.size[1], mask.size[0]), shape, name)
        if mask.mode in _EIGHT_BIT_MODES:
            bins = np.asarray(mask.histogram(), dtype=np.int64)
            return _valid_bins(bins, num_classes, ignore_index, name)
        if mask.mode not in ("1", "I", "I;16", "I;16B", "I;16L"):
            raise ValueError(
                f"`masks` should be single-channel label masks (grayscale or palette PNG), but "
                f"{name} is a {mask.mode} image. Convert color-coded masks to class ids first."
            )
        mask = np.asarray(mask)
    if type(mask).__module__.startswith("torch") and hasattr(mask, "detach"):
        mask = mask.detach().cpu().numpy()
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[0] == 1:  # a (1, H, W) tensor from a transform
        arr = arr[0]
    _check_shape(arr.shape, shape, name)
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"`masks` should hold integer class ids, but {name} has dtype {arr.dtype}."
        )
    flat = arr.reshape(-1)
    if flat.size == 0:
        return np.zeros(num_classes, dtype=np.int64)
    if arr.dtype.itemsize <= 2 and np.issubdtype(arr.dtype, np.unsignedinteger):
        return _valid_bins(np.bincount(flat), num_classes, ignore_index, name)
    if ignore_index is not None:
        flat = flat[flat != ignore_index]
    outside = (flat < 0) | (flat >= num_classes)
    if outside.any():
        value = int(flat[outside][0])
        raise ValueError(
            f"`masks` should hold class ids in [0, num_classes - 1] = [0, {num_classes - 1}] or "
            f"the ignore_index={ignore_index}, but {name} holds {value} "
            f"({int(outside.sum())} pixels). Raise num_classes or set ignore_index={value}."
        )
    return np.bincount(flat, minlength=num_classes).astype(np.int64)


class _Source:
    """Where the masks come from: a loader per index, names for messages, a checksum."""

    def __init__(
        self,
        n: int,
        load: Callable[[int], Any],
        names: Callable[[int], str],
        digest: Callable[[], Iterator[bytes]] | None,
    ) -> None:
        self.n, self.load, self.names, self.digest = n, load, names, digest


class _FileLoader:
    """Picklable loader of mask files (for DataLoader workers)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)

    def __call__(self, i: int) -> Any:
        return _open_png(self.paths[i])

    def name(self, i: int) -> str:
        return f"mask {i} ({str(self.paths[i])!r})"

    def digest(self) -> Iterator[bytes]:
        for path in self.paths:
            yield path.name.encode()
            yield path.read_bytes()


class _ArrayLoader:
    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays  # a sequence of masks or an (n, height, width) array

    def __call__(self, i: int) -> Any:
        return self.arrays[i]

    def name(self, i: int) -> str:
        return f"mask {i}"

    def digest(self) -> Iterator[bytes]:
        for mask in self.arrays:
            value = mask
            if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            arr = np.ascontiguousarray(value)
            yield f"{arr.dtype.str}{arr.shape}".encode()
            yield arr.tobytes()


class _DatasetLoader:
    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __call__(self, i: int) -> Any:
        item = self.dataset[i]
        if isinstance(item, tuple | list):
            if len(item) < 2:
                raise ValueError(
                    "`masks` should be a Dataset of masks or (image, mask) pairs, but item "
                    f"{i} is a {type(item).__name__} of length {len(item)}."
                )
            return item[1]
        return item

    def name(self, i: int) -> str:
        return f"mask {i} of the dataset"


def _resolve(masks: Any) -> _Source:
    if isinstance(masks, str | os.PathLike):
        folder = Path(masks)
        if not folder.is_dir():
            raise ValueError(
                f"`masks` should be {_SOURCES}, but the folder {str(folder)!r} does not exist."
            )
        paths = sorted(folder.rglob("*.png"))
        if not paths:
            raise ValueError(
                f"`masks` should be a folder holding PNG masks, but {str(folder)!r} has no "
                "*.png file."
            )
        return _files(paths)
    if isinstance(masks, Dataset):
        paths_attr = getattr(masks, "masks", None)  # torchvision VOCSegmentation: mask paths
        if (
            isinstance(paths_attr, Sequence)
            and len(paths_attr) == len(masks)  # type: ignore[arg-type]
            and all(isinstance(p, str | os.PathLike) for p in paths_attr)
        ):
            return _files([Path(p) for p in paths_attr])
        loader = _DatasetLoader(masks)
        return _Source(len(masks), loader, loader.name, None)  # type: ignore[arg-type]
    if type(masks).__module__.startswith("torch") and hasattr(masks, "detach"):
        masks = masks.detach().cpu().numpy()
    if isinstance(masks, np.ndarray):
        if masks.ndim != 3:
            raise ValueError(
                f"`masks` should be a 3-D array (n_masks, height, width) or a list of masks, "
                f"but got shape {masks.shape}. For one mask pass masks[None]."
            )
        arrays = _ArrayLoader(masks)
        return _Source(masks.shape[0], arrays, arrays.name, arrays.digest)
    if isinstance(masks, list | tuple):
        if not masks:
            raise ValueError("`masks` should not be empty, but got 0 masks.")
        if all(isinstance(m, str | os.PathLike) for m in masks):
            return _files([Path(m) for m in masks])
        arrays = _ArrayLoader(masks)
        return _Source(len(masks), arrays, arrays.name, arrays.digest)
    raise TypeError(
        f"`masks` should be {_SOURCES}, but got {describe_value(masks)} of type "
        f"{type(masks).__name__}."
    )


def _files(paths: list[Path]) -> _Source:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ValueError(
            f"`masks` should name existing files, but {str(missing[0])!r} does not exist "
            f"({len(missing)} missing)."
        )
    loader = _FileLoader(paths)
    return _Source(len(paths), loader, loader.name, loader.digest)


def _cache_key(source: _Source, num_classes: int, ignore: int | None, shape: Any) -> str:
    assert source.digest is not None
    h = hashlib.sha256(f"{_CACHE_VERSION}|{num_classes}|{ignore}|{shape}|{source.n}".encode())
    for chunk in source.digest():
        h.update(chunk)
    return h.hexdigest()


def _read_cache(path: Path, key: str) -> sp.csr_array | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            return sp.csr_array(
                (stored["data"], stored["indices"], stored["indptr"]),
                shape=tuple(int(v) for v in stored["shape"]),
            )
    except (OSError, ValueError, KeyError):
        return None  # unreadable or from another version: recount


def _write_cache(path: Path, key: str, counts: sp.csr_array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp.npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez(
            tmp,
            key=np.asarray(key),
            data=counts.data,
            indices=counts.indices,
            indptr=counts.indptr,
            shape=np.asarray(counts.shape, dtype=np.int64),
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _stack(rows: list[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    return np.stack(rows)


def _count_all(masks: _Masks, num_workers: int, progress: bool) -> npt.NDArray[np.int64]:
    out = np.zeros((len(masks), masks.num_classes), dtype=np.int64)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(masks), desc="Counting pixels", unit="mask")
    try:
        if num_workers == 0:
            for i in range(len(masks)):
                out[i] = masks[i]
                if bar is not None:
                    bar.update(1)
        else:
            loader = DataLoader(
                masks, batch_size=_BATCH, num_workers=num_workers, collate_fn=_stack
            )
            start = 0
            for batch in loader:
                out[start : start + batch.shape[0]] = batch
                start += batch.shape[0]
                if bar is not None:
                    bar.update(batch.shape[0])
    finally:
        if bar is not None:
            bar.close()
    return out


def pixel_class_counts(
    masks: Any,
    num_classes: int,
    *,
    ignore_index: int | None = 255,
    cache: str | os.PathLike[str] | None = None,
    shape: tuple[int, int] | None = None,
    num_workers: int = 0,
    progress: bool = True,
) -> sp.csr_array:
    """Per image per class pixel counts of semantic-segmentation label masks.

    Each mask is counted in one vectorized pass (PIL's histogram for 8-bit PNGs, palette or
    grayscale; ``np.bincount`` for numpy or torch masks). Palette PNGs are read as their
    palette indices, which are the class ids (as in Pascal VOC).

    Guarantees:
        * row ``i`` counts mask ``i`` (folders: the ``*.png`` files found recursively, sorted
          by path); column ``c`` counts the pixels whose value is ``c``;
        * pixels equal to ``ignore_index`` are not counted; any other value outside
          ``[0, num_classes)`` is an error naming the mask, never dropped;
        * the result does not depend on ``num_workers``;
        * with ``cache``, the counts are stored in that file under a SHA-256 checksum of the
          masks' bytes (and of ``num_classes``, ``ignore_index``, ``shape``); a later call
          with the same masks reads the file instead of decoding, and any change to a mask
          (content, name, number) invalidates it, so the counts are recomputed and the file
          rewritten.

    Args:
        masks: a folder of PNG masks, a list of mask files, a list or 3-D array of masks
            (numpy or torch), or a Dataset of masks or ``(image, mask)`` pairs (a dataset with
            a ``masks`` attribute listing files, as torchvision's ``VOCSegmentation``, is read
            from those files without decoding its images).
        num_classes: number of classes; class ids are ``0..num_classes-1``.
        ignore_index: the mask value that marks pixels to ignore (255 in Pascal VOC and
            Cityscapes trainIds), or None.
        cache: a file to cache the counts in (``.npz``); None to always count. Needs masks
            whose bytes can be checksummed: files, folders or arrays.
        shape: the ``(height, width)`` every mask must have; None to accept any size.
        num_workers: DataLoader worker processes that read the masks (0: this process).
        progress: show a tqdm progress bar while counting.

    Returns:
        A ``scipy.sparse.csr_array`` of int64, shape ``(n_masks, num_classes)``.

    Raises:
        TypeError: unsupported ``masks``, or a wrongly typed argument.
        ValueError: a missing folder or file, a mask that is not 2-D or not of the declared
            shape, a class id outside ``[0, num_classes)`` that is not the ignore index,
            ``num_classes < 1``, ``cache`` for masks that cannot be checksummed.

    Example:
        >>> import numpy as np
        >>> masks = np.array([[[0, 0], [1, 255]], [[2, 2], [2, 0]]], dtype=np.uint8)
        >>> pixel_class_counts(masks, 3, progress=False).toarray().tolist()
        [[2, 1, 0], [1, 0, 3]]
    """
    n_classes = check_int(num_classes, "num_classes", minimum=1)
    assert n_classes is not None
    ignore = check_int(ignore_index, "ignore_index", allow_none=True)
    workers = check_int(num_workers, "num_workers", minimum=0)
    assert workers is not None
    progress = check_bool(progress, "progress")
    if shape is not None:
        if (
            not isinstance(shape, tuple | list)
            or len(shape) != 2
            or not all(isinstance(s, int | np.integer) and s > 0 for s in shape)
        ):
            raise ValueError(
                f"`shape` should be a (height, width) pair of positive integers or None, but got "
                f"shape={describe_value(shape)}."
            )
        shape = (int(shape[0]), int(shape[1]))
    if cache is not None and not isinstance(cache, str | os.PathLike):
        raise TypeError(
            f"`cache` should be a file path or None, but got {describe_value(cache)} of type "
            f"{type(cache).__name__}."
        )
    source = _resolve(masks)
    key = None
    if cache is not None:
        if source.digest is None:
            raise ValueError(
                "`cache` needs masks whose bytes can be checksummed (a folder, mask files or "
                "arrays), but got a Dataset that yields masks; pass cache=None, or the mask "
                "files."
            )
        key = _cache_key(source, n_classes, ignore, shape)
        cached = _read_cache(Path(cache), key)
        if cached is not None:
            return cached
    counting = _Masks(source.load, source.names, source.n, n_classes, ignore, shape)
    counts = sp.csr_array(_count_all(counting, workers, progress))
    if cache is not None:
        assert key is not None
        _write_cache(Path(cache), key, counts)
    return counts
