"""Label extraction (:func:`get_labels`) and the one label normaliser every entry point calls.

Accepted label forms (see the API contract, section 0):

* a 1-D array-like of class ids (list, numpy, torch tensor): integers (need not be contiguous),
  strings, booleans, or floats with integral values -> *multiclass*;
* a 2-D 0/1 array-like of shape ``(n_samples, n_labels)`` -> *multilabel*;
* a ``scipy.sparse`` matrix or array of 0/1 -> *multilabel* (kept sparse);
* a :class:`torch.utils.data.Dataset` -> labels read with :func:`get_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import torch
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from ._label_values import check_class_values, missing_error
from ._tables import is_table, table_labels
from ._validation import describe_value, tensor_to_numpy
from .detection._coco import coco_source

__all__ = ["Labels", "check_labels", "get_labels"]

LabelArray: TypeAlias = "npt.NDArray[Any] | sp.csr_array"

_FORMS = (
    "a 1-D array of class ids, a 2-D 0/1 array of shape (n_samples, n_labels), "
    "a scipy.sparse 0/1 matrix, or a torch Dataset"
)


def _to_numpy(value: Any, name: str = "labels") -> Any:
    if isinstance(value, torch.Tensor) and value.layout != torch.strided and value.ndim == 2:
        coo = value.detach().cpu().to_sparse(layout=torch.sparse_coo)
        summed = not coo.is_coalesced()  # coalescing adds up entries given more than once
        coo = coo.coalesce()
        data = tensor_to_numpy(coo.values(), name)
        if summed:
            _reject_non_binary(data[(data != 0) & (data != 1)], name, summed=True)
        rows, cols = tensor_to_numpy(coo.indices(), name)
        return sp.csr_array((data, (rows, cols)), shape=tuple(coo.shape))
    return tensor_to_numpy(value, name)


def _label_array(values: Any, name: str = "labels") -> npt.NDArray[Any]:
    """``np.asarray(values)`` after :func:`_check_class_values` for a 1-D Python sequence."""
    if isinstance(values, Sequence) and not isinstance(values, str | bytes) and len(values):
        check_class_values(values, name)
    return np.asarray(values)


def _stack_targets(targets: Sequence[Any]) -> LabelArray:
    """Stack per-sample targets (scalars or 0/1 vectors) into a label array."""
    items = [_to_numpy(t) for t in targets]
    if all(np.ndim(t) == 0 for t in items):
        return _label_array(
            [t.item() if isinstance(t, np.generic | np.ndarray) else t for t in items]
        )
    try:
        dense = np.stack([np.asarray(t).reshape(-1) for t in items])
    except ValueError as exc:
        raise ValueError(
            "Could not stack the dataset's targets into labels: targets have different shapes. "
            "Multilabel targets must be 0/1 vectors of the same length."
        ) from exc
    return sp.csr_array(dense)


def _progress(iterable: Any, total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="sample")


def _attribute_labels(dataset: Any) -> Any | None:
    """Labels stored as an attribute (never decodes a sample), or None."""
    n = len(dataset) if hasattr(dataset, "__len__") else None
    candidates: list[Any] = []
    for attr in ("targets", "labels", "_labels", "y"):
        value = getattr(dataset, attr, None)
        if value is not None and not callable(value):
            candidates.append(value)
    for attr in ("samples", "imgs"):  # ImageFolder / DatasetFolder: list of (path, class)
        value = getattr(dataset, attr, None)
        if isinstance(value, Sequence) and len(value) > 0 and isinstance(value[0], tuple):
            candidates.append([s[1] for s in value])
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) >= 2:
        candidates.append(dataset.tensors[1])
    for value in candidates:
        value = _to_numpy(value)
        if sp.issparse(value):
            if n is None or value.shape[0] == n:
                return sp.csr_array(value)
            continue
        if isinstance(value, np.ndarray):
            if n is None or (value.ndim >= 1 and value.shape[0] == n):
                return value
            continue
        if isinstance(value, Sequence) and (n is None or len(value) == n):
            if len(value) and np.ndim(_to_numpy(value[0])) > 0:
                return _stack_targets(value)
            return (
                _label_array([_to_numpy(v) for v in value])
                if value and isinstance(value[0], torch.Tensor)
                else _label_array(value)
            )
    return None


def get_labels(dataset: Any, *, column: Any = None, progress: bool = True) -> LabelArray:
    """Read the labels of a dataset without decoding its samples where possible.

    Sources, in order: COCO annotations (torchvision ``CocoDetection``: the image x category
    presence matrix of :func:`balancers.detection.coco_labels`, rows in ``dataset.ids`` order,
    without opening an image), ``.targets``, ``.labels`` (also ``._labels`` and ``.y``),
    ``.samples`` / ``.imgs`` (``ImageFolder``), the second tensor of a ``TensorDataset``;
    ``Subset`` and ``ConcatDataset`` are followed recursively. Only when none of these exists
    are samples read, as ``dataset[i][1]``, with a progress bar. ``target_transform`` is not
    applied: samplers see the raw class ids.

    pandas/polars ``Series`` and ``DataFrame``, pyarrow arrays and tables, and Hugging Face
    ``datasets.Dataset`` are read through Arrow in one vectorized pass (see
    ``balancers._tables``): no row is iterated and no other column is decoded.

    Args:
        dataset: a map-style dataset, or labels already (returned as an array unchanged).
        column: the label column of a data frame, Arrow table or Hugging Face ``Dataset``
            (default: its column named ``label`` or ``labels``); a list of names reads 0/1
            columns as a multilabel matrix.
        progress: show a tqdm bar when samples have to be read one by one.

    Returns:
        A numpy array (multiclass, shape ``(n,)``) or a ``scipy.sparse.csr_array`` (multilabel).

    Raises:
        TypeError: ``dataset`` is not a dataset and not labels.
        ValueError: the targets cannot be assembled into labels.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset, Subset
        >>> ds = TensorDataset(torch.zeros(4, 2), torch.tensor([3, 1, 3, 7]))
        >>> get_labels(Subset(ds, [0, 3])).tolist()
        [3, 7]
    """
    if column is not None or is_table(dataset):
        return table_labels(dataset, column)
    if isinstance(dataset, Subset):
        inner = get_labels(dataset.dataset, progress=progress)
        return inner[_subset_indices(dataset.indices, inner.shape[0])]
    if isinstance(dataset, ConcatDataset):
        parts = [get_labels(d, progress=progress) for d in dataset.datasets]
        if any(sp.issparse(p) for p in parts):
            return sp.csr_array(sp.vstack([sp.csr_array(p) for p in parts], format="csr"))
        return np.concatenate(parts)
    if not isinstance(dataset, Dataset) and not hasattr(dataset, "__getitem__"):
        if sp.issparse(dataset):
            return sp.csr_array(dataset)
        raise TypeError(
            f"`dataset` should be a torch Dataset or labels ({_FORMS}), but got "
            f"{describe_value(dataset)} of type {type(dataset).__name__}."
        )
    coco = coco_source(dataset) if isinstance(dataset, Dataset) else None
    if coco is not None:
        return coco.presence
    if not isinstance(dataset, Dataset):
        # Already labels (list, numpy array, tensor, ...).
        value = _to_numpy(dataset)
        if sp.issparse(value):
            return sp.csr_array(value)
        return value if isinstance(value, np.ndarray) else _label_array(value)
    found = _attribute_labels(dataset)
    if found is not None:
        return found
    try:
        n = len(dataset)  # type: ignore[arg-type]
    except TypeError as exc:
        raise TypeError(
            f"`dataset` should be a map-style Dataset with __len__, but {type(dataset).__name__} "
            "has none; pass the labels array instead."
        ) from exc
    targets = []
    for i in _progress(range(n), n, progress, "Reading labels"):
        item = dataset[i]
        if not isinstance(item, tuple | list) or len(item) < 2:
            raise ValueError(
                f"Could not find labels for {type(dataset).__name__}: it has no .targets, "
                ".labels or .samples attribute and dataset[i] is not an (input, target) pair. "
                "Pass the labels array instead."
            )
        targets.append(item[1])
    if not targets:
        raise ValueError("`labels` should not be empty, but the dataset has 0 samples.")
    return _stack_targets(targets)


def _subset_indices(indices: Any, n: int) -> npt.NDArray[np.int64]:
    """A ``Subset``'s indices, checked against the size ``n`` of the dataset it wraps."""
    idx = np.asarray(tensor_to_numpy(indices, "indices"))
    if idx.size == 0:
        return idx.astype(np.int64).reshape(-1)
    if idx.dtype == np.bool_ or not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
        raise TypeError(
            f"`Subset.indices` should be a 1-D sequence of integers, but got {describe_value(idx)}."
        )
    bad = (idx < -n) | (idx >= n) if idx.dtype.kind == "i" else idx >= n
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`Subset.indices` should be in [0, {n}) for the dataset of {n} items it wraps, but "
            f"got indices[{first}]={idx[first].item()} ({int(bad.sum())} out of range)."
        )
    return idx.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Labels:
    """Validated labels in one internal form.

    Attributes:
        kind: ``"multiclass"`` or ``"multilabel"``.
        classes: sorted class ids (multiclass) or label column numbers ``0..L-1`` (multilabel).
        counts: samples per class, or positives per label, ordered like ``classes``.
        codes: multiclass only: the class position (0..C-1) of each sample.
        matrix: multilabel only: ``(n_samples, n_labels)`` CSR array of int8 0/1 with sorted
            indices.
    """

    kind: Literal["multiclass", "multilabel"]
    classes: npt.NDArray[Any]
    counts: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int64] | None = None
    matrix: sp.csr_array | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_samples(self) -> int:
        if self.codes is not None:
            return int(self.codes.shape[0])
        assert self.matrix is not None
        return int(self.matrix.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.classes.shape[0])

    @property
    def is_multilabel(self) -> bool:
        return self.kind == "multilabel"

    @cached_property
    def row_label_counts(self) -> npt.NDArray[np.int64]:
        """Number of positive labels in each row (1 for every multiclass row)."""
        if self.matrix is None:
            return np.ones(self.n_samples, dtype=np.int64)
        return np.diff(self.matrix.indptr).astype(np.int64)

    @cached_property
    def empty_rows(self) -> npt.NDArray[np.int64]:
        """Rows with no positive label (always empty for multiclass labels)."""
        return np.flatnonzero(self.row_label_counts == 0).astype(np.int64)

    @cached_property
    def class_members(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Inverted index ``(indptr, rows)``: class ``c`` has ``rows[indptr[c]:indptr[c + 1]]``.

        Rows are in ascending order within each class. A multilabel row appears once per label.
        """
        if self.codes is not None:
            from ._cycling import stable_class_order

            rows = stable_class_order(self.codes, self.n_classes)
        else:
            assert self.matrix is not None
            csc = self.matrix.tocsc()
            csc.sort_indices()
            rows = csc.indices.astype(np.int64)
        indptr = np.zeros(self.n_classes + 1, dtype=np.int64)
        np.cumsum(self.counts, out=indptr[1:])
        return indptr, rows

    def dense(self) -> npt.NDArray[np.int8]:
        """Dense ``(n_samples, n_classes)`` int8 0/1 matrix (one-hot if multiclass)."""
        if self.matrix is not None:
            return np.asarray(self.matrix.toarray(), dtype=np.int8)
        out = np.zeros((self.n_samples, self.n_classes), dtype=np.int8)
        assert self.codes is not None
        out[np.arange(self.n_samples), self.codes] = 1
        return out

    def class_index(self, cls: Any, name: str = "class") -> int:
        """Position of class id ``cls`` in ``classes``; ValueError naming the classes if absent."""
        pos = np.searchsorted(self.classes, cls)
        if pos < self.n_classes and self.classes[pos] == cls:
            return int(pos)
        shown = self.classes.tolist()
        shown_text = repr(shown) if len(shown) <= 20 else repr(shown[:20])[:-1] + ", ...]"
        raise ValueError(
            f"`{name}` names class {cls!r}, which is absent from the labels; "
            f"the classes present are {shown_text}."
        )


#: largest magnitude up to which every whole float64 is an exact, distinct integer
_EXACT_FLOAT_INT = 2**53


def _multiclass(arr: npt.NDArray[Any], name: str) -> Labels:
    if arr.dtype == object:
        arr = _label_array(arr.tolist(), name)
        if arr.dtype == object:
            raise TypeError(
                f"`{name}` should hold class ids of one type (integers or strings), but got "
                "values of mixed types."
            )
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64, copy=False)
        nan = np.isnan(arr)
        if nan.any():
            raise missing_error(np.flatnonzero(nan).tolist(), arr.shape[0], name)
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) > _EXACT_FLOAT_INT)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"`{name}` should hold integer class ids, but got "
                f"{name}[{first}]={arr[first].item()!r}. "
                "Continuous targets cannot be balanced by class; for per-sample weights use "
                "WeightedSampler(weights). Float class ids must be whole numbers of magnitude "
                "at most 2**53 (beyond it floats cannot tell neighbouring ids apart)."
            )
        arr = arr.astype(np.int64)
    elif np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(
            f"`{name}` should hold integer or string class ids, but got complex values."
        )
    if np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_:
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= max(4 * arr.shape[0], 1 << 20):
            counts_all = np.bincount(arr.astype(np.intp, copy=False), minlength=hi + 1)
            present = np.flatnonzero(counts_all)
            lookup = np.full(hi + 1, -1, dtype=np.int64)
            lookup[present] = np.arange(present.shape[0], dtype=np.int64)
            codes = lookup[arr]
            return Labels(
                "multiclass",
                classes=present.astype(arr.dtype),
                counts=counts_all[present].astype(np.int64),
                codes=codes,
            )
    try:
        classes, codes, counts = np.unique(arr, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise TypeError(
            f"`{name}` should hold class ids of one type (integers or strings), but got values "
            "that cannot be compared."
        ) from exc
    return Labels(
        "multiclass",
        classes=classes,
        counts=counts.astype(np.int64),
        codes=codes.reshape(-1).astype(np.int64),
    )


def _reject_non_binary(bad_values: npt.NDArray[Any], name: str, *, summed: bool = False) -> None:
    """Raise the multilabel 0/1 error naming the first of ``bad_values``, if there is one.

    ``summed``: duplicate sparse entries were added up before the check (say so).
    """
    if bad_values.size:
        note = (
            " after summing duplicate entries (a sparse matrix adds up entries given more "
            "than once for the same row and column; give each positive once)"
            if summed
            else ""
        )
        raise ValueError(
            f"`{name}` should be a 0/1 indicator matrix for multilabel data, but it contains "
            f"{bad_values[0].item()!r}{note}. For multiclass labels pass a 1-D array of "
            "class ids (use .ravel() on a column vector)."
        )


def _multilabel(matrix: Any, name: str) -> Labels:
    stored = int(matrix.nnz)  # duplicate entries of a COO matrix count here, once each
    matrix = sp.csr_array(matrix, copy=True)
    matrix.sum_duplicates()
    merged = stored - int(matrix.nnz)
    if matrix.shape[1] == 0:
        raise ValueError(
            f"`{name}` should have at least one label column, but got shape {matrix.shape}."
        )
    data = matrix.data
    if data.dtype == np.bool_:
        data = data.astype(np.int8)
    if data.size and not np.issubdtype(data.dtype, np.number):
        raise TypeError(f"`{name}` should be a 0/1 matrix, but got dtype {data.dtype}.")
    _reject_non_binary(data[(data != 0) & (data != 1)], name, summed=merged > 0)
    matrix = sp.csr_array(
        (data.astype(np.int8), matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape
    )
    matrix.eliminate_zeros()
    matrix.sort_indices()
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
    return Labels(
        "multilabel",
        classes=np.arange(matrix.shape[1], dtype=np.int64),
        counts=counts,
        matrix=matrix,
    )


def check_labels(labels: Any, name: str = "labels", *, progress: bool = True) -> Labels:
    """Validate ``labels`` in any accepted form and return them as :class:`Labels`.

    Args:
        labels: labels in any form of the API contract (section 0), or a Dataset.
        name: the argument name used in error messages.
        progress: passed to :func:`get_labels` for datasets without a label attribute.

    Raises:
        TypeError: unsupported type.
        ValueError: empty, 0-D or 3-D+, non-binary multilabel values, non-integral floats.
    """
    if isinstance(labels, Labels):
        return labels
    coco = coco_source(labels)  # CocoLabels, COCO json path or dict, COCO, CocoDetection
    if coco is not None:
        labels = coco.presence
    if isinstance(labels, Dataset) or is_table(labels):
        labels = get_labels(labels, progress=progress)
    labels = _to_numpy(labels, name)
    if isinstance(labels, str | bytes) or labels is None or isinstance(labels, dict | set):
        raise TypeError(
            f"`{name}` should be {_FORMS}, but got {describe_value(labels)} of type "
            f"{type(labels).__name__}."
        )
    if sp.issparse(labels):
        if labels.ndim != 2:
            raise ValueError(f"`{name}` should be 2-D when sparse, but got shape {labels.shape}.")
        if labels.shape[0] == 0:
            raise ValueError(f"`{name}` should not be empty, but got 0 samples.")
        return _multilabel(labels, name)
    if isinstance(labels, Sequence) and not isinstance(labels, str | bytes) and len(labels):
        check_class_values(labels, name)
    try:
        arr = np.asarray(labels)
    except ValueError as exc:
        raise ValueError(
            f"`{name}` should be {_FORMS}, but got a ragged sequence; multilabel rows must all "
            "have the same length."
        ) from exc
    if arr.ndim == 0:
        raise ValueError(
            f"`{name}` should be 1-D (multiclass) or 2-D (multilabel), but got a scalar "
            f"{name}={describe_value(labels)}."
        )
    if arr.ndim > 2:
        raise ValueError(
            f"`{name}` should be 1-D (multiclass) or 2-D (multilabel), but got {arr.ndim}-D "
            f"labels of shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"`{name}` should not be empty, but got 0 samples.")
    if arr.ndim == 1:
        return _multiclass(arr, name)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"`{name}` should be a 0/1 matrix when 2-D, but got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"`{name}` should be a 0/1 indicator matrix, but it contains NaN or inf.")
    # Row-major nonzero positions are already CSR-ordered: no conversion pass through COO (and
    # one flat pass over a boolean mask is several times faster than a 2-D np.nonzero).
    mask = arr if arr.dtype == np.bool_ else arr != 0
    flat = np.flatnonzero(mask)
    if arr.dtype != np.bool_:
        values = arr.reshape(-1)[flat] if arr.flags.c_contiguous else arr[mask]
        _reject_non_binary(values[values != 1], name)
    cols = flat % arr.shape[1] if arr.shape[1] else flat
    indptr = np.zeros(arr.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(mask, axis=1), out=indptr[1:])
    matrix = sp.csr_array(
        (np.ones(cols.shape[0], dtype=np.int8), cols.astype(np.int32), indptr), shape=arr.shape
    )
    if arr.shape[1] == 0:
        return _multilabel(matrix, name)  # raises: no label column
    # Built canonical (sorted, no duplicates, no explicit zeros): no second validation pass.
    return Labels(
        "multilabel",
        classes=np.arange(arr.shape[1], dtype=np.int64),
        counts=np.bincount(cols, minlength=arr.shape[1]).astype(np.int64),
        matrix=matrix,
    )
