"""Labels of COCO-format detection annotations: image x category presence and instance counts.

The annotation lists are read column-wise (``np.fromiter`` over ``operator.itemgetter``), image
and category ids are mapped to rows and columns with ``np.searchsorted``, and the matrices are
assembled by ``scipy.sparse`` (duplicates summed), so parsing costs no per-image Python work and
no image is ever opened.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from .._validation import check_bool, describe_value

__all__ = ["CocoLabels", "coco_labels", "coco_source"]

_SOURCES = "a COCO-format annotation file path, its dict, or a pycocotools COCO object"


@dataclass(frozen=True, eq=False)
class CocoLabels:
    """Image x category labels of a COCO-format detection data set.

    Rows follow the images (in the file's order, or ``image_ids`` when given); columns follow
    the categories sorted by id. Images without annotations are rows with no label.

    Attributes:
        presence: ``(n_images, n_categories)`` CSR array of int8 0/1: the image holds at least
            one (counted) instance of the category.
        counts: ``(n_images, n_categories)`` CSR array of int64: the number of (counted)
            instances of the category in the image.
        image_ids: the COCO image id of each row (int64).
        category_ids: the COCO category id of each column (int64, sorted).
        category_names: the ``name`` of each category (``str(id)`` when the file has none).
        n_crowd: crowd annotations (``iscrowd=1``) left out of the matrices (0 when
            ``include_crowd=True``).
    """

    presence: sp.csr_array
    counts: sp.csr_array
    image_ids: npt.NDArray[np.int64]
    category_ids: npt.NDArray[np.int64]
    category_names: list[str] = field(default_factory=list)
    n_crowd: int = 0

    @property
    def n_images(self) -> int:
        """Number of images (rows)."""
        return int(self.presence.shape[0])

    @property
    def n_categories(self) -> int:
        """Number of categories (columns)."""
        return int(self.presence.shape[1])

    def __len__(self) -> int:
        return self.n_images

    def __repr__(self) -> str:
        return (
            f"CocoLabels(n_images={self.n_images}, n_categories={self.n_categories}, "
            f"n_instances={int(self.counts.sum())}, n_crowd={self.n_crowd})"
        )


def _is_coco_object(value: Any) -> bool:
    """A pycocotools ``COCO`` object (duck-typed: pycocotools need not be imported)."""
    return isinstance(getattr(value, "dataset", None), dict) and hasattr(value, "getAnnIds")


def _decode(raw: bytes) -> Any:
    """JSON text to Python objects: orjson when installed (several times faster), else json."""
    try:
        import orjson
    except ImportError:
        return json.loads(raw)
    return orjson.loads(raw)  # orjson.JSONDecodeError subclasses json.JSONDecodeError


def _load(annotations: Any) -> dict[str, Any]:
    if isinstance(annotations, str | os.PathLike):
        path = Path(annotations)
        if not path.is_file():
            raise ValueError(
                f"`annotations` should be {_SOURCES}, but the file {str(path)!r} does not exist."
            )
        try:
            loaded = _decode(path.read_bytes())
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"`annotations` should be a COCO-format JSON file, but {str(path)!r} is not "
                f"valid JSON ({exc})."
            ) from exc
        if not isinstance(loaded, dict):
            raise ValueError(
                f"`annotations` should be a COCO-format JSON object, but {str(path)!r} holds a "
                f"{type(loaded).__name__}."
            )
        return loaded
    if _is_coco_object(annotations):
        return dict(annotations.dataset)
    if isinstance(annotations, dict):
        return annotations
    raise TypeError(
        f"`annotations` should be {_SOURCES}, but got {describe_value(annotations)} of type "
        f"{type(annotations).__name__}."
    )


def _section(data: dict[str, Any], key: str, required: bool) -> list[Any]:
    value = data.get(key)
    if value is None:
        if not required:
            return []
        raise ValueError(
            f"`annotations` should be COCO-format with an {key!r} list, but it has no {key!r} "
            f"key (keys: {sorted(data)[:10]}). A detection annotation file holds 'images', "
            "'annotations' and 'categories'."
        )
    if not isinstance(value, list):
        raise ValueError(
            f"`annotations[{key!r}]` should be a list of dicts, but got {type(value).__name__}."
        )
    return value


def _column(
    items: list[Any], key: str, section: str, default: int | None = None
) -> npt.NDArray[np.int64]:
    """The integer field ``key`` of every dict in ``items`` (vectorized; errors located)."""
    try:
        if default is None:
            values = list(map(itemgetter(key), items))
        else:
            values = list(map(dict.get, items, repeat(key), repeat(default)))
        if set(map(type, values)) <= {int}:  # the JSON case: plain ints, converted in C
            return np.fromiter(values, dtype=np.int64, count=len(values))
        column = np.array(values)  # numpy integers, or the error path below
        if column.ndim == 1 and np.issubdtype(column.dtype, np.integer):
            return column.astype(np.int64, copy=False)
    except (KeyError, TypeError, ValueError, OverflowError):
        pass
    for i, item in enumerate(items):  # the error path only: find the first bad entry
        if not isinstance(item, dict):
            raise ValueError(
                f"`annotations[{section!r}][{i}]` should be a dict, but got {describe_value(item)}."
            ) from None
        value = item.get(key, default)
        if value is None:
            raise ValueError(
                f"`annotations[{section!r}][{i}]` should have an integer {key!r}, but it has "
                f"none (keys: {sorted(item)})."
            ) from None
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(
                f"`annotations[{section!r}][{i}][{key!r}]` should be an integer, but got "
                f"{describe_value(value)}."
            ) from None
    raise AssertionError("unreachable")  # pragma: no cover


class _IdIndex:
    """Rows of unique integer ids: a lookup table when the ids are small, else binary search."""

    def __init__(self, ids: npt.NDArray[np.int64], section: str) -> None:
        self.ids = ids
        n = int(ids.shape[0])
        small = n > 0 and int(ids.min()) >= 0 and int(ids.max()) <= max(4 * n, 1 << 20)
        self.table: npt.NDArray[np.int64] | None = None
        if small:
            table = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
            table[ids] = np.arange(n, dtype=np.int64)
            repeated = n - int((table >= 0).sum())
            self.table = table
        else:
            self.order = np.argsort(ids, kind="stable")
            self.sorted = ids[self.order]
            repeated = int((self.sorted[1:] == self.sorted[:-1]).sum())
        if repeated:
            values, counts = np.unique(ids, return_counts=True)
            raise ValueError(
                f"`annotations[{section!r}]` should have unique ids, but id "
                f"{int(values[counts > 1][0])} appears more than once ({repeated} repeated ids)."
            )

    def rows(self, wanted: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The row of each id in ``wanted``; -1 for an unknown id."""
        out = np.full(wanted.shape, -1, dtype=np.int64)
        if self.ids.size == 0:
            return out
        if self.table is not None:
            inside = (wanted >= 0) & (wanted < self.table.shape[0])
            out[inside] = self.table[wanted[inside]]
            return out
        pos = np.minimum(np.searchsorted(self.sorted, wanted), self.sorted.shape[0] - 1)
        found = self.sorted[pos] == wanted
        out[found] = self.order[pos[found]]
        return out


def coco_labels(
    annotations: Any,
    *,
    image_ids: Any = None,
    include_crowd: bool = False,
) -> CocoLabels:
    """Image x category presence and instance counts of COCO-format detection annotations.

    No image is opened: only the ``images``, ``annotations`` and ``categories`` lists are read.

    Crowd annotations (``"iscrowd": 1``) mark a region of many objects that COCO evaluation
    ignores (a match with one is neither a true nor a false positive); torchvision's and
    detectron2's training recipes drop them. They are therefore left out of both matrices by
    default (an image with crowd annotations only is a row with no label), and counted in
    ``n_crowd``. With ``include_crowd=True`` each crowd annotation counts as one instance.

    Guarantees:
        * one row per image, in the order of ``annotations["images"]`` (or of ``image_ids``);
          images without annotations are kept as rows with no label;
        * one column per category of ``annotations["categories"]``, sorted by id (ids need not
          be contiguous); without a ``categories`` list, the ids used by the annotations;
        * ``counts`` sums the annotations per (image, category); ``presence`` is
          ``counts > 0``; every (non-crowd) annotation is counted exactly once;
        * the file path, its dict and the pycocotools ``COCO`` object give the same result.

    Args:
        annotations: a COCO-format annotation file path, the loaded dict, or a
            ``pycocotools.coco.COCO`` object.
        image_ids: the image ids of the rows, in order (e.g. torchvision ``CocoDetection.ids``,
            which are sorted); None for every image in file order.
        include_crowd: count crowd annotations as instances.

    Returns:
        A :class:`CocoLabels`.

    Raises:
        TypeError: ``annotations`` is not a path, dict or COCO object.
        ValueError: the file does not exist or is not JSON; ``images`` or ``annotations`` is
            missing; an annotation names an unknown image or category; ids are repeated or not
            integers; ``image_ids`` names an unknown image.

    Example:
        >>> data = {
        ...     "images": [{"id": 7}, {"id": 3}, {"id": 9}],
        ...     "categories": [{"id": 1, "name": "cat"}, {"id": 18, "name": "dog"}],
        ...     "annotations": [
        ...         {"id": 1, "image_id": 7, "category_id": 18, "iscrowd": 0},
        ...         {"id": 2, "image_id": 7, "category_id": 18, "iscrowd": 0},
        ...         {"id": 3, "image_id": 3, "category_id": 1, "iscrowd": 0},
        ...     ],
        ... }
        >>> labels = coco_labels(data)
        >>> labels.counts.toarray().tolist(), labels.category_names
        ([[0, 2], [1, 0], [0, 0]], ['cat', 'dog'])
    """
    include_crowd = check_bool(include_crowd, "include_crowd")
    data = _load(annotations)
    images = _section(data, "images", required=True)
    anns = _section(data, "annotations", required=True)
    cats = _section(data, "categories", required=False)

    file_ids = _column(images, "id", "images")
    image_index = _IdIndex(file_ids, "images")
    ann_images = _column(anns, "image_id", "annotations")
    ann_cats = _column(anns, "category_id", "annotations")
    crowd = _column(anns, "iscrowd", "annotations", default=0) != 0

    rows = image_index.rows(ann_images)
    _check_known(rows, ann_images, "image_id", "annotations['images']", "image")

    if cats:
        cat_ids = _column(cats, "id", "categories")
        _IdIndex(cat_ids, "categories")  # unique ids
        cat_order = np.argsort(cat_ids, kind="stable")
        category_ids = cat_ids[cat_order]
        names = [str(cats[i].get("name", cats[i]["id"])) for i in cat_order.tolist()]
    else:
        category_ids = np.unique(ann_cats)
        names = [str(c) for c in category_ids.tolist()]
    cols = _IdIndex(category_ids, "categories").rows(ann_cats)
    _check_known(cols, ann_cats, "category_id", "annotations['categories']", "category")

    if image_ids is None:
        row_ids = file_ids
    else:
        row_ids = _requested_rows(image_ids, image_index)
        # file rows to requested rows; annotations of images not requested are left out
        lookup = np.full(file_ids.shape[0], -1, dtype=np.int64)
        lookup[image_index.rows(row_ids)] = np.arange(row_ids.shape[0], dtype=np.int64)
        rows = lookup[rows]
    keep = rows >= 0
    n_crowd = 0
    if not include_crowd:
        n_crowd = int((crowd & keep).sum())
        keep &= ~crowd
    shape = (int(row_ids.shape[0]), int(category_ids.shape[0]))
    counts = sp.csr_array(
        (np.ones(int(keep.sum()), dtype=np.int64), (rows[keep], cols[keep])), shape=shape
    )
    counts.sum_duplicates()
    counts.sort_indices()
    presence = sp.csr_array(
        (np.ones(counts.nnz, dtype=np.int8), counts.indices.copy(), counts.indptr.copy()),
        shape=shape,
    )
    return CocoLabels(
        presence=presence,
        counts=counts,
        image_ids=row_ids.astype(np.int64, copy=False),
        category_ids=category_ids.astype(np.int64, copy=False),
        category_names=names,
        n_crowd=n_crowd,
    )


def _check_known(
    rows: npt.NDArray[np.int64], ids: npt.NDArray[np.int64], key: str, where: str, noun: str
) -> None:
    unknown = rows < 0
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise ValueError(
            f"`annotations['annotations'][{i}]` names {key}={int(ids[i])}, which is not in "
            f"{where} ({int(unknown.sum())} annotations name an unknown {noun}). Add the "
            f"{noun} or drop its annotations."
        )


def _requested_rows(image_ids: Any, index: _IdIndex) -> npt.NDArray[np.int64]:
    if isinstance(image_ids, str | bytes | dict | set):
        raise TypeError(
            f"`image_ids` should be a 1-D sequence of integer image ids or None, but got "
            f"{describe_value(image_ids)}."
        )
    arr = np.asarray(image_ids)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(
            f"`image_ids` should be a 1-D sequence of integer image ids or None, but got "
            f"{describe_value(arr)}."
        )
    arr = arr.astype(np.int64)
    if np.unique(arr).shape[0] != arr.shape[0]:
        raise ValueError(
            "`image_ids` should name each image once, but it repeats an id; pass each image id "
            "once (a sampler repeats rows, the labels should not)."
        )
    unknown = index.rows(arr) < 0
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise ValueError(
            f"`image_ids` should name images of annotations['images'], but got "
            f"image_ids[{i}]={int(arr[i])}, which is unknown."
        )
    return arr


def coco_source(value: Any) -> CocoLabels | None:
    """``value`` as :class:`CocoLabels` when it is one, a ``.json`` annotation file path, a
    COCO-format dict (with ``images`` and ``annotations``), a pycocotools ``COCO`` object or a
    torchvision ``CocoDetection`` (rows in ``dataset.ids`` order); otherwise None."""
    if isinstance(value, CocoLabels):
        return value
    if isinstance(value, str | os.PathLike) and str(value).lower().endswith(".json"):
        return coco_labels(value)
    if isinstance(value, dict) and "images" in value and "annotations" in value:
        return coco_labels(value)
    if _is_coco_object(value):
        return coco_labels(value)
    coco = getattr(value, "coco", None)
    ids = getattr(value, "ids", None)
    if coco is not None and ids is not None and _is_coco_object(coco):
        return coco_labels(coco, image_ids=list(ids))
    return None
