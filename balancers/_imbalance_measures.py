"""Multilabel imbalance measures and labelset grouping (numpy only, no torch).

References:
    * F. Charte, A. J. Rivera, M. J. del Jesus, F. Herrera, "Addressing imbalance in multilabel
      classification: Measures and random resampling algorithms", Neurocomputing 163, 2015
      (IRLbl, MeanIR, MaxIR, CVIR).
    * F. Charte, A. J. Rivera, M. J. del Jesus, F. Herrera, "Concurrence among imbalanced labels
      and its influence on multilabel resampling algorithms", HAIS 2014 (SCUMBLE).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from ._segments import segment_ranks

__all__ = ["LabelsetGroups", "MultilabelMeasures", "irlbl", "labelsets", "multilabel_measures"]


def irlbl(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Imbalance ratio per label: ``max(counts) / counts``; ``inf`` for a label without positives.

    Example:
        >>> irlbl(np.array([8, 2, 4, 0])).tolist()
        [1.0, 4.0, 2.0, inf]
    """
    c = np.asarray(counts, dtype=np.float64)
    out = np.full(c.shape, np.inf, dtype=np.float64)
    present = c > 0
    if present.any():
        out[present] = c.max() / c[present]
    return out


@dataclass(frozen=True)
class MultilabelMeasures:
    """The multilabel imbalance measures of a label matrix.

    Attributes:
        irlbl: IRLbl per label column (``inf`` for a column without positives).
        mean_ir: MeanIR, the mean IRLbl over the labels with positives.
        max_ir: MaxIR, the largest IRLbl over the labels with positives.
        cvir: CVIR, the sample standard deviation of those IRLbl divided by MeanIR (0.0 when
            fewer than two labels have positives).
        scumble: SCUMBLE, the mean over rows of each row's SCUMBLE.
        scumble_rows: SCUMBLE per row, ``1 - geometric mean / arithmetic mean`` of the IRLbl of
            the row's labels (0.0 for rows with fewer than two labels).
        cardinality: mean number of labels per row.
        density: cardinality divided by the number of label columns.
        n_labelsets: number of distinct labelsets (the empty labelset counts when present).
        n_empty_rows: rows with no positive label.
    """

    irlbl: npt.NDArray[np.float64]
    mean_ir: float
    max_ir: float
    cvir: float
    scumble: float
    scumble_rows: npt.NDArray[np.float64]
    cardinality: float
    density: float
    n_labelsets: int
    n_empty_rows: int


def _row_scumble(matrix: sp.csr_array, ir: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    n = int(matrix.shape[0])
    k = np.diff(matrix.indptr)
    out = np.zeros(n, dtype=np.float64)
    rows = np.flatnonzero(k >= 2)
    if rows.size == 0:
        return out
    values = ir[matrix.indices]  # every column of an entry has a positive, so finite
    # Segment sums over the non-empty rows (reduceat needs strictly increasing starts), then
    # keep the rows with at least two labels.
    nonempty = np.flatnonzero(k > 0)
    sums = np.add.reduceat(values, matrix.indptr[:-1][nonempty])
    logs = np.add.reduceat(np.log(values), matrix.indptr[:-1][nonempty])
    pos = np.searchsorted(nonempty, rows)
    kk = k[rows].astype(np.float64)
    arith = sums[pos] / kk
    geo = np.exp(logs[pos] / kk)
    out[rows] = np.clip(1.0 - geo / arith, 0.0, 1.0)
    return out


def multilabel_measures(matrix: sp.csr_array, counts: npt.NDArray[np.int64]) -> MultilabelMeasures:
    """Compute the measures of :class:`MultilabelMeasures` from a validated 0/1 CSR matrix.

    Args:
        matrix: ``(n_samples, n_labels)`` CSR array of 0/1 with sorted indices, no explicit zeros.
        counts: positives per label column.

    Example:
        >>> m = sp.csr_array(np.array([[1, 1], [1, 0], [1, 0], [0, 1]]))
        >>> r = multilabel_measures(m, np.array([3, 2]))
        >>> r.irlbl.tolist(), r.mean_ir, r.n_labelsets
        ([1.0, 1.5], 1.25, 3)
    """
    n, n_labels = int(matrix.shape[0]), int(matrix.shape[1])
    ir = irlbl(counts)
    finite = ir[np.isfinite(ir)]
    if finite.size:
        mean_ir = float(finite.mean())
        max_ir = float(finite.max())
        cvir = float(finite.std(ddof=1) / mean_ir) if finite.size > 1 else 0.0
    else:
        mean_ir = max_ir = cvir = 0.0
    rows = _row_scumble(matrix, ir)
    k = np.diff(matrix.indptr)
    cardinality = float(k.sum() / n)
    return MultilabelMeasures(
        irlbl=ir,
        mean_ir=mean_ir,
        max_ir=max_ir,
        cvir=cvir,
        scumble=float(rows.mean()),
        scumble_rows=rows,
        cardinality=cardinality,
        density=cardinality / n_labels,
        n_labelsets=labelsets(matrix).n_sets,
        n_empty_rows=int((k == 0).sum()),
    )


@dataclass(frozen=True)
class LabelsetGroups:
    """Rows grouped by labelset (the exact set of positive labels of a row).

    Attributes:
        codes: labelset id of every row, ``0..n_sets-1``, ids ordered by first appearance.
        counts: rows per labelset.
        members: row numbers sorted by labelset (ascending within one).
        starts: rows of labelset ``s`` are ``members[starts[s]:starts[s + 1]]``.
    """

    codes: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    members: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]

    @property
    def n_sets(self) -> int:
        return int(self.counts.shape[0])


_CHUNK_ROWS = 1 << 16


def _row_keys(matrix: sp.csr_array) -> npt.NDArray[np.void]:
    """One fixed-width byte key per row that identifies the row's labelset exactly.

    The narrower of two encodings: the row's bits packed (``ceil(L / 8)`` bytes), or its sorted
    label numbers padded to the largest row cardinality.
    """
    n, n_labels = int(matrix.shape[0]), int(matrix.shape[1])
    k = np.diff(matrix.indptr)
    width = int(k.max()) if n else 0
    index_dtype = np.dtype(np.uint16) if n_labels < 2**16 - 1 else np.dtype(np.uint32)
    packed_bytes = (n_labels + 7) // 8
    if packed_bytes <= width * index_dtype.itemsize or width == 0:
        out = np.empty((n, max(packed_bytes, 1)), dtype=np.uint8)
        for start in range(0, n, _CHUNK_ROWS):
            block = matrix[start : start + _CHUNK_ROWS].toarray().astype(bool, copy=False)
            out[start : start + block.shape[0]] = np.packbits(block, axis=1)
    else:
        out_idx = np.full((n, width), np.iinfo(index_dtype).max, dtype=index_dtype)
        row_of = np.repeat(np.arange(n), k)
        col_in_row = segment_ranks(k)
        out_idx[row_of, col_in_row] = matrix.indices
        out = out_idx.view(np.uint8).reshape(n, -1)
    out = np.ascontiguousarray(out)
    return out.view(np.dtype((np.void, out.shape[1]))).reshape(-1)


def labelsets(matrix: sp.csr_array) -> LabelsetGroups:
    """Group the rows of a 0/1 CSR matrix by labelset (exact, vectorized).

    Example:
        >>> m = sp.csr_array(np.array([[1, 0], [0, 1], [1, 0], [0, 0]]))
        >>> g = labelsets(m)
        >>> g.codes.tolist(), g.counts.tolist()
        ([0, 1, 0, 2], [2, 1, 1])
    """
    keys = _row_keys(matrix)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    # Renumber labelsets by first appearance so ids do not depend on the key encoding.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    codes = rank[inverse].astype(np.int64)
    counts = np.bincount(codes, minlength=order.shape[0]).astype(np.int64)
    members = np.argsort(codes, kind="stable").astype(np.int64)
    starts = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return LabelsetGroups(codes=codes, counts=counts, members=members, starts=starts)
