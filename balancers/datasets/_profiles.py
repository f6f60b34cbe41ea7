"""Per-class sample counts of long-tailed profiles (exponential, step, linear); numpy only."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Literal

from .._validation import check_choice, check_int, check_real

__all__ = ["PROFILES", "Profile", "long_tail_counts"]

Profile = Literal["exp", "step", "linear"]
PROFILES: tuple[str, ...] = ("exp", "step", "linear")


def check_profile_args(
    n_max: Any, num_classes: Any, imbalance_ratio: Any, profile: Any, minority_fraction: Any
) -> tuple[int, int, float, str, float]:
    """Validate the arguments of :func:`long_tail_counts`; return them normalised."""
    n_max_i = check_int(n_max, "n_max", minimum=1)
    num_classes_i = check_int(num_classes, "num_classes", minimum=1)
    ratio = check_real(
        imbalance_ratio,
        "imbalance_ratio",
        low=1.0,
        hint="It is n_max / n_min: 100 means the largest class is 100 times the smallest.",
    )
    profile_s = check_choice(profile, "profile", PROFILES)
    fraction = check_real(minority_fraction, "minority_fraction", low=0.0, high=1.0)
    return n_max_i, num_classes_i, ratio, profile_s, fraction


def long_tail_counts(
    n_max: int,
    num_classes: int,
    imbalance_ratio: float,
    profile: Profile = "exp",
    *,
    minority_fraction: float = 0.5,
) -> list[int]:
    """Number of samples to keep per class for a long-tailed profile.

    With :math:`C` classes, ratio :math:`\\rho` (``imbalance_ratio`` = :math:`n_{max} / n_{min}`)
    and class position :math:`i = 0, \\dots, C-1` (head first):

    * ``"exp"``: :math:`n_i = \\lfloor n_{max} \\cdot (1/\\rho)^{i/(C-1)} \\rfloor`, evaluated with
      the float expression of Cao et al. 2019 (LDAM-DRW) and Cui et al. 2019, so the published
      CIFAR-10-LT / CIFAR-100-LT tables are reproduced exactly;
    * ``"step"``: the last ``round(C * minority_fraction)`` classes get
      :math:`\\lfloor n_{max} / \\rho \\rfloor`, the others :math:`n_{max}` (Buda et al. 2018;
      Python's ``round``, so halves go to the even number);
    * ``"linear"``:
      :math:`n_i = \\lfloor n_{max} - (n_{max} - n_{max}/\\rho) \\cdot i/(C-1) \\rfloor`,
      from :math:`n_{max}` down to :math:`n_{max}/\\rho` (Buda et al. 2018), in exact arithmetic.

    Guarantees:

    * the first class gets exactly ``n_max``; counts never increase along the classes;
    * every count is at least 1 (a ratio that would empty a class is an error);
    * a single class gets ``[n_max]``.

    Args:
        n_max: the size of the largest (first) class.
        num_classes: the number of classes :math:`C`.
        imbalance_ratio: :math:`n_{max} / n_{min}`, at least 1 (100 means 1:100).
        profile: ``"exp"``, ``"step"`` or ``"linear"``.
        minority_fraction: for ``"step"``, the fraction of classes that are minority classes.

    Returns:
        One count per class, head class first.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: ``imbalance_ratio < 1``, an unknown ``profile``, a count that would be 0.

    References:
        Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
        NeurIPS 2019. Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
        CVPR 2019. Buda et al., "A systematic study of the class imbalance problem in
        convolutional neural networks", Neural Networks 2018.

    Example:
        >>> long_tail_counts(5000, 10, 100)
        [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
        >>> long_tail_counts(1000, 4, 10, "step")
        [1000, 1000, 100, 100]
        >>> long_tail_counts(1000, 4, 10, "linear")
        [1000, 700, 400, 100]
    """
    n_max, num_classes, ratio, kind, fraction = check_profile_args(
        n_max, num_classes, imbalance_ratio, profile, minority_fraction
    )
    if num_classes == 1:
        return [n_max]
    steps = num_classes - 1.0
    if kind == "exp":
        # The float expression of LDAM-DRW / Cui et al. (not an exact power), kept on purpose.
        factor = 1.0 / ratio
        counts = [int(n_max * factor ** (i / steps)) for i in range(num_classes)]
    elif kind == "step":
        n_min = math.floor(Fraction(n_max) / Fraction(ratio))
        n_minority = round(num_classes * fraction)
        counts = [n_max] * (num_classes - n_minority) + [n_min] * n_minority
    else:
        exact_ratio = Fraction(ratio)
        last = num_classes - 1
        counts = [
            math.floor(Fraction(n_max) * ((last - i) * exact_ratio + i) / (last * exact_ratio))
            for i in range(num_classes)
        ]
    if counts[-1] < 1:
        raise ValueError(
            f"`imbalance_ratio` should be at most n_max={n_max} so that the smallest class keeps "
            f"a sample, but got imbalance_ratio={imbalance_ratio!r}, which gives the last class "
            f"{counts[-1]} samples. Lower the ratio or raise n_max."
        )
    return counts
