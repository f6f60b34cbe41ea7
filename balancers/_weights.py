"""Reweighting helpers: per-class weights, BCE ``pos_weight`` and per-sample weights."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from ._labels import Labels, check_labels
from ._validation import check_bool, check_choice, check_real

__all__ = ["class_weights", "pos_weight", "sample_weights"]

Scheme = Literal["inverse", "sqrt", "effective", "balanced", "median_frequency", "enet"]
SCHEMES: tuple[str, ...] = ("inverse", "sqrt", "effective", "balanced")
REDUCTIONS: tuple[str, ...] = ("max", "mean", "sum")


def _scheme_weights(
    counts: npt.NDArray[np.int64], scheme: str, beta: float, n_total: int
) -> npt.NDArray[np.float64]:
    """Weights for groups of the given (positive) sizes."""
    n = counts.astype(np.float64)
    if scheme == "inverse":
        return 1.0 / n
    if scheme == "sqrt":
        return 1.0 / np.sqrt(n)
    if scheme == "effective":
        weights = _effective(n, beta)
        _warn_if_effective_is_flat(counts, weights, beta)
        return weights
    # "balanced": N / (C * n_c), as scikit-learn's compute_class_weight("balanced").
    return n_total / (counts.shape[0] * n)


def _effective(n: npt.NDArray[np.float64], beta: float) -> npt.NDArray[np.float64]:
    """(1 - beta) / (1 - beta**n), computed stably with expm1; beta = 0 gives 1."""
    if beta == 0.0:
        return np.ones_like(n)
    return -np.expm1(np.log(beta)) / -np.expm1(n * np.log(beta))


#: weights whose max/min is below this are "all equal" (no reweighting to speak of)
_FLAT = 1.001


def _warn_if_effective_is_flat(
    counts: npt.NDArray[np.int64], weights: npt.NDArray[np.float64], beta: float
) -> None:
    """Warn when ``beta`` makes the effective-number weights of unequal classes all equal."""
    if counts.max() <= counts.min() or weights.max() / weights.min() >= _FLAT:
        return
    suggested = 1.0 - 1.0 / float(counts.max())
    spread = _effective(counts.astype(np.float64), suggested)
    warnings.warn(
        f'scheme="effective" with beta={beta:g} gives every class the same weight (max/min '
        f"{weights.max() / weights.min():.4f}): with class sizes from {int(counts.min())} to "
        f"{int(counts.max())}, beta**n is 0 for all of them. Raise `beta` towards 1: "
        f"beta={suggested:.6g} (1 - 1/largest class size) gives max/min "
        f"{spread.max() / spread.min():.3g}.",
        UserWarning,
        stacklevel=4,
    )


def _check_scheme(scheme: Any, beta: Any, extra: tuple[str, ...] = ()) -> tuple[str, float]:
    scheme = check_choice(scheme, "scheme", SCHEMES + extra)
    beta_f = check_real(beta, "beta", low=0.0, high=1.0, high_inclusive=False)
    assert beta_f is not None
    return scheme, beta_f


def _zero_count_error(info: Labels, counts: npt.NDArray[np.int64]) -> None:
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(
            f"`labels` has no positive sample for label {int(info.classes[empty[0]])} "
            f"(column {int(empty[0])}; {empty.size} labels without positives), so its weight "
            "would be infinite. Drop that column or add positive samples."
        )


def class_weights(
    labels: Any,
    scheme: Scheme = "inverse",
    *,
    beta: float = 0.999,
    normalize: bool = True,
) -> torch.Tensor:
    """One weight per class, for ``nn.CrossEntropyLoss(weight=...)``.

    Schemes, with :math:`n_c` the size of class :math:`c`, :math:`N` the number of samples and
    :math:`C` the number of classes:

    * ``"inverse"``: :math:`1 / n_c`;
    * ``"sqrt"``: :math:`1 / \\sqrt{n_c}`;
    * ``"effective"``: :math:`(1 - \\beta) / (1 - \\beta^{n_c})`, the inverse effective number of
      samples (Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019);
    * ``"balanced"``: :math:`N / (C n_c)` (scikit-learn's ``class_weight="balanced"``).

    Segmentation schemes, for which ``labels`` is the image x class pixel-count matrix of
    :func:`balancers.segmentation.pixel_class_counts`:

    * ``"median_frequency"``: :math:`\\mathrm{median}(f) / f_c`, with :math:`f_c` the pixels of
      class :math:`c` over the pixels of the images where it is present (Eigen and Fergus,
      "Predicting Depth, Surface Normals and Semantic Labels with a Common Multi-Scale
      Convolutional Architecture", ICCV 2015);
    * ``"enet"``: :math:`1 / \\ln(1.02 + p_c)`, with :math:`p_c` the share of all pixels that
      belong to :math:`c` (Paszke et al., "ENet", 2016).

    For multilabel labels, :math:`n_c` is the number of positives of label :math:`c`.

    Args:
        labels: labels in any accepted form (see :func:`balancers.get_labels`).
        scheme: one of ``"inverse"``, ``"sqrt"``, ``"effective"``, ``"balanced"``, or for pixel
            counts ``"median_frequency"``, ``"enet"``.
        beta: the effective-number hyper-parameter, in ``[0, 1)``.
        normalize: rescale so that the weights sum to the number of classes.

    Returns:
        A float32 tensor with one weight per class, ordered by sorted class id.

    Raises:
        ValueError: unknown scheme, ``beta`` outside ``[0, 1)``, or a multilabel column without
            positives.

    Example:
        >>> class_weights([0, 0, 0, 1], "inverse", normalize=False)
        tensor([0.3333, 1.0000])
        >>> class_weights([0, 0, 0, 1]).sum().item()
        2.0
    """
    from .segmentation._weights import PIXEL_SCHEMES, pixel_weights

    scheme_name, beta_f = _check_scheme(scheme, beta, extra=PIXEL_SCHEMES)
    normalize = check_bool(normalize, "normalize")
    if scheme_name in PIXEL_SCHEMES:
        w = pixel_weights(labels, scheme_name)
    else:
        info = check_labels(labels)
        _zero_count_error(info, info.counts)
        w = _scheme_weights(info.counts, scheme_name, beta_f, info.n_samples)
    if normalize:
        w = w * (w.shape[0] / w.sum())
    return torch.as_tensor(w, dtype=torch.float32)


def pos_weight(labels: Any, *, power: float = 1.0, clip: float | None = None) -> torch.Tensor:
    """Negatives / positives per label, for ``nn.BCEWithLogitsLoss(pos_weight=...)``.

    Multilabel labels give one value per label column. 1-D labels whose classes are 0 and 1 (or
    only one of them; also booleans) are binary and give a single value for class 1; other 1-D
    labels are treated one-vs-rest (one value per class, ordered by sorted class id).

    The plain ratio can be large for rare labels (a label with 1% positives gets 99) and then
    floods the predictions with false positives. ``power`` softens it (``0.5``: the square
    root, 99 becomes 9.95; ``0``: every weight 1) and ``clip`` caps it; the weight of a label is
    ``min((negatives / positives) ** power, clip)``.

    Args:
        labels: labels in any accepted form (see :func:`balancers.get_labels`).
        power: exponent of the ratio, ``>= 0``; 1 is the plain ratio, 0.5 its square root.
        clip: the largest weight, ``> 0``; None for no cap.

    Returns:
        A float32 tensor with one weight per label.

    Raises:
        TypeError: ``power`` or ``clip`` is not a number.
        ValueError: a label (or class) has no positive sample, the message names it;
            ``power < 0`` or ``clip <= 0``.

    Example:
        >>> pos_weight([[1, 0], [0, 1], [0, 1], [0, 1]])
        tensor([3.0000, 0.3333])
        >>> y = [1] + [0] * 99  # 1% positives
        >>> pos_weight(y), pos_weight(y, power=0.5), pos_weight(y, clip=10.0)
        (tensor([99.]), tensor([9.9499]), tensor([10.]))
    """
    exponent = check_real(
        power, "power", low=0.0, hint="Use 1 for negatives/positives, 0.5 for its square root."
    )
    cap = check_real(clip, "clip", low=0.0, low_inclusive=False, allow_none=True)
    assert exponent is not None
    info = check_labels(labels)
    names = info.classes.tolist()
    counts = info.counts
    if not info.is_multilabel and set(names) <= {0, 1} and info.classes.dtype.kind in "biu":
        # Binary: the positives are class 1 (absent when every label is 0).
        counts = counts[info.classes == 1] if 1 in names else np.zeros(1, dtype=np.int64)
        names = [True if info.classes.dtype == np.bool_ else 1]
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        where = (
            f"column {int(empty[0])}; {empty.size} of {counts.size} labels have none"
            if info.is_multilabel
            else "binary labels, and all are negative"
        )
        raise ValueError(
            f"`labels` has no positive sample for label {names[int(empty[0])]!r} ({where}, "
            f"among {info.n_samples} samples), so its pos_weight (negatives/positives) would "
            "be infinite. Drop that label or add positive samples."
        )
    pos = counts.astype(np.float64)
    weights = ((info.n_samples - pos) / pos) ** exponent
    if cap is not None:
        weights = np.minimum(weights, cap)
    return torch.as_tensor(weights, dtype=torch.float32)


def sample_weights(
    labels: Any,
    scheme: Scheme = "inverse",
    *,
    reduce: Literal["max", "mean", "sum"] = "max",
    beta: float = 0.999,
) -> torch.Tensor:
    """One weight per sample: the weight of its class under ``scheme``.

    For multiclass labels the weight of sample :math:`i` is :math:`w_{y_i}` (unnormalised
    :func:`class_weights`). For multilabel labels a row's weight reduces the weights of its
    positive labels with ``reduce`` (``"max"``, ``"mean"`` or ``"sum"``); rows with no positive
    label form their own group "no label", weighted by the same scheme from that group's size
    (and counted as one more class by ``"balanced"``).

    Args:
        labels: labels in any accepted form.
        scheme: as in :func:`class_weights`.
        reduce: how a multilabel row combines its labels' weights.
        beta: the effective-number hyper-parameter for ``scheme="effective"``.

    Returns:
        A float64 tensor of shape ``(n_samples,)``; strictly positive and finite.

    Example:
        >>> sample_weights([0, 0, 1]).tolist()
        [0.5, 0.5, 1.0]
        >>> sample_weights([[1, 1], [1, 0], [0, 0]], reduce="mean").tolist()
        [0.75, 0.5, 1.0]
    """
    scheme_name, beta_f = _check_scheme(scheme, beta)
    reduction = check_choice(reduce, "reduce", REDUCTIONS)
    info = check_labels(labels)
    if not info.is_multilabel:
        assert info.codes is not None
        w = _scheme_weights(info.counts, scheme_name, beta_f, info.n_samples)
        return torch.as_tensor(w[info.codes], dtype=torch.float64)
    n_empty = int(info.empty_rows.shape[0])
    present = info.counts > 0
    group_counts = info.counts[present]
    if n_empty:
        group_counts = np.append(group_counts, n_empty)
    group_w = _scheme_weights(group_counts, scheme_name, beta_f, info.n_samples)
    label_w = np.zeros(info.n_classes, dtype=np.float64)
    label_w[present] = group_w[: int(present.sum())]
    assert info.matrix is not None
    per_entry = label_w[info.matrix.indices]
    starts = info.matrix.indptr[:-1]
    has = info.row_label_counts > 0
    out = np.empty(info.n_samples, dtype=np.float64)
    if per_entry.size:
        ufunc = np.maximum if reduction == "max" else np.add
        reduced = ufunc.reduceat(per_entry, starts[has])
        if reduction == "mean":
            reduced = reduced / info.row_label_counts[has]
        out[has] = reduced
    if n_empty:
        out[~has] = group_w[-1]
    return torch.as_tensor(out, dtype=torch.float64)
