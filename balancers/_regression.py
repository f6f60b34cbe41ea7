"""Continuous targets: label distribution smoothing weights and a describe by shot region.

Yang et al. (2021), "Delving into Deep Imbalanced Regression" (ICML): the targets are cut into
equal-width bins, the (square-rooted) bin counts are convolved with a symmetric kernel window
(label distribution smoothing, LDS), and each sample is weighted by the inverse of its bin's
smoothed density. The bins also define the paper's evaluation regions: many-shot (more than 100
training samples in the bin), medium-shot (20 to 100) and few-shot (fewer than 20).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._validation import check_choice, check_int, check_real, describe_value

if TYPE_CHECKING:
    import torch

__all__ = [
    "TargetReport",
    "bin_index",
    "check_bins",
    "check_targets",
    "check_thresholds",
    "describe_targets",
    "histogram",
    "lds_window",
    "regression_weights",
    "shot_regions",
    "smoothed_density",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

KERNELS = ("gaussian", "triangular", "laplace")
SCHEMES = ("inverse", "sqrt_inverse")
REGIONS = ("many", "medium", "few")


def check_targets(y: Any, name: str = "y") -> FloatArray:
    """Convert continuous targets (list, numpy, torch, pandas) to a finite 1-D float64 array.

    An ``(n, 1)`` column is accepted as ``(n,)``.

    Raises:
        TypeError: ``y`` is not numeric.
        ValueError: ``y`` is empty, not 1-D, or holds NaN or inf.
    """
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    elif hasattr(y, "to_numpy"):
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(
            f"`{name}` should hold real-valued targets, but got {describe_value(y)} with dtype "
            f"{arr.dtype}. Pass a 1-D numeric array."
        )
    if arr.ndim != 1:
        raise ValueError(
            f"`{name}` should be a 1-D array of targets, but got shape {arr.shape}. Pass one "
            "target per sample."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"`{name}` should hold at least one target, but got an empty array.")
    out = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(out)):
        bad = int(np.flatnonzero(~np.isfinite(out))[0])
        raise ValueError(
            f"`{name}` should hold finite targets, but got {name}[{bad}]={out[bad]!r}. Drop or "
            "impute the samples with missing targets first."
        )
    return out


def check_bins(bins: Any, name: str = "bins") -> int | FloatArray:
    """A number of equal-width bins (an int >= 1) or increasing bin edges (at least 2)."""
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool | np.bool_):
        value = check_int(bins, name, minimum=1, hint="Pass a number of bins, e.g. bins=100.")
        assert value is not None
        return value
    if isinstance(bins, str | bytes | bool | np.bool_ | numbers.Real) or not hasattr(
        bins, "__len__"
    ):
        raise TypeError(
            f"`{name}` should be a number of equal-width bins or a sequence of bin edges, but "
            f"got {name}={describe_value(bins)} of type {type(bins).__name__}."
        )
    edges = np.asarray(bins, dtype=np.float64)
    if (
        edges.ndim != 1
        or edges.shape[0] < 2
        or not np.all(np.isfinite(edges))
        or np.any(np.diff(edges) <= 0)
    ):
        raise ValueError(
            f"`{name}` as edges should be a 1-D increasing sequence of at least 2 finite "
            f"values, but got {name}={describe_value(bins)}."
        )
    return edges


def histogram(values: FloatArray, bins: int | FloatArray) -> tuple[IntArray, FloatArray, IntArray]:
    """``(counts, edges, bin of each value)``.

    ``bins`` an int: equal-width bins over ``[min, max]`` (a single bin, edges ``[v, v]``, for a
    constant target); edges: values outside them go to the first or last bin.
    """
    if isinstance(bins, int):
        lo, hi = float(values.min()), float(values.max())
        edges = np.array([lo, hi]) if hi <= lo else np.linspace(lo, hi, bins + 1)
    else:
        edges = bins
    which = bin_index(values, edges)
    counts = np.bincount(which, minlength=edges.shape[0] - 1).astype(np.int64)
    return counts, edges, which


def bin_index(values: FloatArray, edges: FloatArray) -> IntArray:
    """The bin (``0..len(edges)-2``) of each value; values outside the edges go to the end bins
    (each bin holds its left edge; the last one both). Equal-width edges by arithmetic, others
    by binary search."""
    n_bins = edges.shape[0] - 1
    if n_bins == 1:
        return np.zeros(values.shape[0], dtype=np.int64)
    width = np.diff(edges)
    if np.allclose(width, width[0], rtol=1e-12, atol=0.0):
        scaled = values - edges[0]
        scaled *= n_bins / (edges[-1] - edges[0])
        np.clip(scaled, 0, n_bins - 1, out=scaled)
        return scaled.astype(np.int64)
    return np.searchsorted(edges[1:-1], values, side="right").astype(np.int64, copy=False)


def lds_window(kernel: str, ks: int, sigma: float) -> FloatArray:
    """The symmetric kernel window of LDS, ``ks`` values with a peak of 1 in the middle.

    ``x`` runs over ``-(ks-1)/2 .. (ks-1)/2``: gaussian ``exp(-x^2 / (2 sigma^2))``; laplace
    ``exp(-|x| / sigma)``; triangular ``1 - |x| / ((ks + 1) / 2)`` (scipy's ``triang(ks)``,
    independent of ``sigma``, as in the paper's code).

    Example:
        >>> lds_window("triangular", 5, 2.0).round(4).tolist()
        [0.3333, 0.6667, 1.0, 0.6667, 0.3333]
    """
    half = (ks - 1) // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    if kernel == "gaussian":
        return np.exp(-(x**2) / (2.0 * sigma**2))
    if kernel == "laplace":
        return np.exp(-np.abs(x) / sigma)
    return 1.0 - np.abs(x) / ((ks + 1) / 2.0)


def _check_lds(kernel: Any, sigma: Any, ks: Any, scheme: Any) -> tuple[str, float, int, str]:
    kernel = check_choice(kernel, "kernel", KERNELS)
    sigma_value = check_real(
        sigma, "sigma", low=0.0, low_inclusive=False, hint="Use a positive width, e.g. sigma=2.0."
    )
    ks_value = check_int(ks, "ks", minimum=1, hint="Use an odd window size, e.g. ks=5.")
    assert sigma_value is not None and ks_value is not None
    if ks_value % 2 == 0:
        raise ValueError(
            f"`ks` should be an odd window size (the window is centred on a bin), but got "
            f"ks={ks_value}. Use ks={ks_value + 1}."
        )
    scheme = check_choice(scheme, "scheme", SCHEMES)
    return kernel, sigma_value, ks_value, scheme


def smoothed_density(
    y: Any,
    *,
    bins: int | npt.ArrayLike = 100,
    kernel: str = "gaussian",
    sigma: float = 2.0,
    ks: int = 5,
    scheme: str = "sqrt_inverse",
) -> tuple[FloatArray, FloatArray]:
    """The LDS density of each bin and the bin edges.

    The bin counts (their square roots for ``scheme="sqrt_inverse"``) convolved with
    :func:`lds_window` (zero outside the range, as ``scipy.ndimage.convolve1d(mode="constant")``).
    Arguments as in :func:`regression_weights`.

    Returns:
        ``(density, edges)``: ``bins`` smoothed values and ``bins + 1`` edges. A constant target
        has a single bin (one value, edges ``[v, v]``), whatever ``bins`` is.

    Example:
        >>> density, edges = smoothed_density([0.0, 0.0, 1.0], bins=2, kernel="triangular", ks=3)
        >>> density.round(4).tolist()
        [1.9142, 1.7071]
    """
    values = check_targets(y)
    density, edges, _ = _smooth(values, check_bins(bins), *_check_lds(kernel, sigma, ks, scheme))
    return density, edges


def _smooth(
    values: FloatArray, bins: int | FloatArray, kernel: str, sigma: float, ks: int, scheme: str
) -> tuple[FloatArray, FloatArray, IntArray]:
    """``(density, edges, bin of each value)`` of checked arguments."""
    counts, edges, which = histogram(values, bins)
    base = np.sqrt(counts) if scheme == "sqrt_inverse" else counts.astype(np.float64)
    full = np.convolve(base, lds_window(kernel, ks, sigma))  # centred at offset (ks - 1) // 2
    half = (ks - 1) // 2
    return full[half : half + counts.shape[0]], edges, which


def regression_weights(
    y: Any,
    *,
    bins: int | npt.ArrayLike = 100,
    kernel: str = "gaussian",
    sigma: float = 2.0,
    scheme: str = "sqrt_inverse",
    ks: int = 5,
) -> torch.Tensor:
    """Per-sample weights for imbalanced regression by label distribution smoothing (LDS).

    The targets are cut into ``bins`` equal-width bins over ``[min(y), max(y)]`` (or by the
    given edges); the bin counts
    (square-rooted for ``scheme="sqrt_inverse"``) are convolved with a ``ks``-wide kernel
    window (:func:`lds_window`); each sample gets ``1 / smoothed density`` of its bin, and the
    weights are scaled to mean 1 (Yang et al. 2021, their ``_prepare_weights``).

    Guarantees:

    - one finite, positive float64 weight per sample, mean 1; samples in the same bin share a
      weight, and rarer bins (after smoothing) weigh more;
    - a constant target (all values equal) has a single bin whatever ``bins`` is (equal-width
      bins of a zero range do not exist), and every weight is 1;
    - usable as per-sample loss weights (``(w * (pred - y) ** 2).mean()``) and as
      :class:`balancers.WeightedSampler` weights.

    Unlike the paper's code, ``scheme="inverse"`` does not clip the counts to [5, 1000], and the
    gaussian window is the sampled gaussian ``exp(-x^2 / (2 sigma^2))`` (the paper smooths a
    delta with ``scipy.ndimage.gaussian_filter1d``, whose reflecting border bends the window).

    Args:
        y: continuous targets, one per sample (list, numpy, torch tensor, pandas Series).
        bins: number of equal-width bins over ``[min(y), max(y)]`` (at least 1), or the bin
            edges (increasing; e.g. ``np.arange(0, 101)`` for the paper's one bin per year of
            age); targets outside the edges count in the end bins.
        kernel: ``"gaussian"``, ``"triangular"`` or ``"laplace"``.
        sigma: width of the gaussian and laplace kernels, in bins (> 0).
        scheme: ``"sqrt_inverse"`` (the paper's default) or ``"inverse"``.
        ks: window size in bins (odd; the paper uses 5).

    Returns:
        A float64 tensor of shape ``(n_samples,)``.

    Raises:
        TypeError: ``y`` is not numeric, or an argument has the wrong type.
        ValueError: ``y`` empty, not 1-D, or with NaN/inf; ``bins < 1``; ``sigma <= 0``; an
            unknown ``kernel`` or ``scheme``; an even ``ks``.

    Example:
        >>> w = regression_weights([1.0, 1.1, 1.2, 1.3, 2.0, 5.0], bins=4, kernel="laplace")
        >>> w.round(decimals=3).tolist()
        [0.868, 0.868, 0.868, 0.868, 0.876, 1.653]
        >>> float(w.mean())
        1.0

    References:
        Yang, Zha, Chen, Wang & Katabi, "Delving into Deep Imbalanced Regression", ICML 2021.
    """
    values = check_targets(y)
    density, _, which = _smooth(values, check_bins(bins), *_check_lds(kernel, sigma, ks, scheme))
    # An occupied bin has density >= its own (root) count >= 1; empty ones are never read.
    inverse = np.zeros_like(density)
    np.divide(1.0, density, out=inverse, where=density > 0)
    weights = inverse[which]
    weights *= weights.shape[0] / weights.sum()
    import torch  # here, so that the numpy-only names of this module load without torch

    return torch.from_numpy(weights)


def shot_regions(counts: IntArray, many: int = 100, few: int = 20) -> npt.NDArray[np.str_]:
    """The region of each bin by its training count: ``"many"`` (> many), ``"few"`` (< few),
    ``"medium"`` otherwise (the thresholds of Yang et al. 2021)."""
    return np.where(counts > many, "many", np.where(counts < few, "few", "medium"))


def check_thresholds(many: Any, few: Any) -> tuple[int, int]:
    many_value = check_int(many, "many", minimum=0)
    few_value = check_int(few, "few", minimum=0)
    assert many_value is not None and few_value is not None
    if few_value > many_value:
        raise ValueError(
            f"`few` should be at most `many`, but got few={few_value} and many={many_value}."
        )
    return many_value, few_value


@dataclass(frozen=True)
class TargetReport:
    """The distribution of a continuous target by equal-width bins and shot regions.

    Attributes:
        n_samples: number of targets.
        min, max, mean, median: of the targets.
        edges: ``bins + 1`` bin edges.
        counts: targets per bin.
        regions: region of each bin: ``"many"`` (more than ``many`` targets), ``"medium"``,
            ``"few"`` (fewer than ``few``, empty bins included).
        region_bins: bins per region; ``region_samples``: targets per region.
    """

    n_samples: int
    min: float
    max: float
    mean: float
    median: float
    edges: list[float] = field(repr=False)
    counts: list[int] = field(repr=False)
    regions: list[str] = field(repr=False)
    region_bins: dict[str, int]
    region_samples: dict[str, int]
    many: int = 100
    few: int = 20

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-serialisable dict."""
        return {
            "n_samples": self.n_samples,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "median": self.median,
            "edges": list(self.edges),
            "counts": list(self.counts),
            "regions": list(self.regions),
            "region_bins": dict(self.region_bins),
            "region_samples": dict(self.region_samples),
            "many": self.many,
            "few": self.few,
        }

    def __str__(self) -> str:
        head = (
            f"{self.n_samples} targets in [{self.min:.4g}, {self.max:.4g}], mean {self.mean:.4g}, "
            f"median {self.median:.4g}; {len(self.counts)} bins"
        )
        lines = [head, f"{'region':<8}{'rule':>16}{'bins':>8}{'samples':>10}"]
        rules = {
            "many": f"> {self.many}",
            "medium": f"{self.few}..{self.many}",
            "few": f"< {self.few}",
        }
        for region in REGIONS:
            lines.append(
                f"{region:<8}{rules[region]:>16}{self.region_bins[region]:>8}"
                f"{self.region_samples[region]:>10}"
            )
        return "\n".join(lines)

    def plot(self) -> Any:
        """A matplotlib Figure: the histogram, bars coloured by region (extra ``plot``)."""
        from ._optional import import_optional

        plt = import_optional("matplotlib.pyplot", extra="plot")
        fig, ax = plt.subplots(figsize=(7, 3.5))
        edges = np.asarray(self.edges)
        colours = {"many": "tab:blue", "medium": "tab:orange", "few": "tab:red"}
        regions = np.asarray(self.regions)
        for region in REGIONS:
            mask = regions == region
            ax.bar(
                edges[:-1][mask],
                np.asarray(self.counts)[mask],
                width=float(edges[1] - edges[0]) if edges.shape[0] > 1 else 1.0,
                align="edge",
                color=colours[region],
                label=f"{region}-shot ({self.region_samples[region]} samples)",
            )
        ax.set_xlabel("target")
        ax.set_ylabel("samples per bin")
        ax.legend()
        fig.tight_layout()
        return fig


def describe_targets(
    y: Any,
    *,
    bins: int | npt.ArrayLike = 100,
    many: int = 100,
    few: int = 20,
) -> TargetReport:
    """Describe a continuous target: histogram and many/medium/few-shot regions by bin count.

    Bins are equal-width over ``[min(y), max(y)]``; a bin with more than ``many`` targets is
    many-shot, one with fewer than ``few`` few-shot, the rest medium-shot (100 and 20 in Yang et
    al. 2021). A constant target has a single bin, whatever ``bins`` is.

    Args:
        y: continuous targets (list, numpy, torch, pandas).
        bins: number of equal-width bins (at least 1), or increasing bin edges.
        many: a bin with more targets than this is many-shot.
        few: a bin with fewer targets than this is few-shot.

    Returns:
        A :class:`TargetReport`; ``str(report)`` is a table, ``report.plot()`` a Figure.

    Raises:
        TypeError / ValueError: bad targets or arguments, named in the message.

    Example:
        >>> report = describe_targets([1.0] * 150 + [2.0] * 50 + [3.0] * 5, bins=3)
        >>> report.region_samples
        {'many': 150, 'medium': 50, 'few': 5}
    """
    values = check_targets(y)
    bins = check_bins(bins)
    many, few = check_thresholds(many, few)
    counts, edges, _ = histogram(values, bins)
    regions = shot_regions(counts, many, few)
    return TargetReport(
        n_samples=int(values.shape[0]),
        min=float(values.min()),
        max=float(values.max()),
        mean=float(values.mean()),
        median=float(np.median(values)),
        edges=edges.tolist(),
        counts=counts.tolist(),
        regions=regions.tolist(),
        region_bins={r: int((regions == r).sum()) for r in REGIONS},
        region_samples={r: int(counts[regions == r].sum()) for r in REGIONS},
        many=many,
        few=few,
    )
