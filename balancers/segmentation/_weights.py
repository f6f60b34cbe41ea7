"""Class weights from pixel counts: median-frequency balancing and ENet's 1 / ln(c + p)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._pixels import check_pixel_counts

__all__ = ["PIXEL_SCHEMES", "pixel_weights"]

PIXEL_SCHEMES: tuple[str, ...] = ("median_frequency", "enet")
ENET_C = 1.02


def pixel_weights(pixel_counts: Any, scheme: str) -> npt.NDArray[np.float64]:
    """Unnormalised class weights of ``scheme`` from an image x class pixel-count matrix.

    * ``"median_frequency"`` (Eigen and Fergus 2015): ``freq(c)`` is the pixels of class ``c``
      divided by the counted pixels of the images where ``c`` is present, and
      ``w_c = median(freq) / freq(c)``;
    * ``"enet"`` (Paszke et al. 2016): ``p_c`` is the share of all counted pixels that belong to
      ``c``, and ``w_c = 1 / ln(1.02 + p_c)`` (bounded by ``1 / ln(1.02)``, about 50.5).

    Ignored pixels are not counted (see ``pixel_class_counts``).

    Raises:
        ValueError: invalid counts; with ``"median_frequency"``, a class without pixels (its
            weight would be infinite; the message names it).

    Example:
        >>> pixel_weights(np.array([[30, 10], [40, 0]]), "median_frequency").tolist()
        [0.6428571428571429, 2.25]
    """
    counts = check_pixel_counts(pixel_counts, "labels")
    totals = np.asarray(counts.sum(axis=0)).reshape(-1).astype(np.float64)
    if scheme == "enet":
        return 1.0 / np.log(ENET_C + totals / totals.sum())
    empty = np.flatnonzero(totals == 0)
    if empty.size:
        raise ValueError(
            f"`labels` has no pixel of class {int(empty[0])} ({empty.size} classes without "
            "pixels), so its median-frequency weight would be infinite. Drop that class or "
            'use scheme="enet".'
        )
    image_pixels = np.asarray(counts.sum(axis=1)).reshape(-1).astype(np.float64)
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    denominators = np.bincount(
        counts.indices, weights=image_pixels[rows], minlength=counts.shape[1]
    )
    freq = totals / denominators
    return np.median(freq) / freq
