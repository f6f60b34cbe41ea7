"""``WeightedSampler`` (our engine) and the builder for PyTorch's ``WeightedRandomSampler``."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import WeightedRandomSampler

from .._class_weights import sample_weights
from .._draw import WeightedPermutation, WeightGroups, WithReplacement
from .._validation import check_bool, check_int, check_nonnegative_weights
from ._engine import EpochSampler

__all__ = ["WeightedSampler", "weighted_random_sampler"]

_TORCH_MULTINOMIAL_LIMIT = 2**24
_GROUPED_DRAW_LIMIT = 2**24


class WeightedSampler(EpochSampler[int]):
    """Draw indices with probability proportional to ``weights``: a drop-in for
    :class:`torch.utils.data.WeightedRandomSampler` without its limits.

    With replacement, draws use per-group sampling when the weights take few distinct values
    (weights from classes) and there are at most 2**24 of them, and otherwise Walker's alias
    table: O(1) per draw, vectorized, with no cap on the number of weights
    (``torch.multinomial`` stops at 2**24). Without replacement, the
    epoch is a weighted random permutation by exponential keys (Efraimidis & Spirakis 2006), which
    works for any size.

    Args:
        weights: 1-D non-negative weights, one per dataset item (list, numpy or tensor); at least
            one must be positive.
        replacement: draw with replacement (default) or not.
        num_samples: draws per epoch (global, before DDP sharding); default ``len(weights)``, or
            the number of positive weights without replacement.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.

    Raises:
        TypeError: ``weights`` is not numeric, or an argument has the wrong type.
        ValueError: ``weights`` is not 1-D, is empty, negative, NaN, infinite or all zero; or
            ``replacement=False`` with ``num_samples`` above the number of positive weights.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> import torch
        >>> sampler = WeightedSampler([1.0, 1.0, 8.0], num_samples=1000, seed=0)
        >>> counts = torch.bincount(torch.tensor(list(sampler)), minlength=3)
        >>> bool(counts[2] > 700)
        True
        >>> loader = DataLoader(TensorDataset(torch.arange(3)), batch_size=4, sampler=sampler)
    """

    def __init__(
        self,
        weights: Any,
        *,
        replacement: bool = True,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        w = check_nonnegative_weights(weights, "weights")
        self.replacement = check_bool(replacement, "replacement")
        n_positive = int(np.count_nonzero(w))
        checked = check_int(num_samples, "num_samples", minimum=1, allow_none=True)
        if not self.replacement and checked is not None and checked > n_positive:
            raise ValueError(
                f"`num_samples` should be at most the number of positive weights "
                f"({n_positive}) when replacement=False, but got num_samples={checked}. "
                "Use replacement=True or lower num_samples."
            )
        default = w.shape[0] if self.replacement else n_positive
        super().__init__(
            num_samples=checked,
            default_num_samples=default,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )
        self.weights = w
        self._draw: WithReplacement | WeightedPermutation
        if self.replacement:
            # Per-group draws gather from a member list that, past about 2**24 items, no longer
            # fits in cache; the alias table's two gathers are cheaper there.
            small = w.shape[0] <= _GROUPED_DRAW_LIMIT
            self._draw = WithReplacement(w, WeightGroups.from_weights(w) if small else None)
        else:
            self._draw = WeightedPermutation(w, WeightGroups.from_weights(w))

    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        return self._draw.sample(rng, self.num_samples)

    def extra_repr(self) -> str:
        return (
            f"n={self.weights.shape[0]}, replacement={self.replacement}, "
            f"num_samples={self.num_samples}"
        )


def weighted_random_sampler(
    labels: Any,
    scheme: Literal["inverse", "sqrt", "effective", "balanced"] = "inverse",
    *,
    reduce: Literal["max", "mean", "sum"] = "max",
    num_samples: int | None = None,
    replacement: bool = True,
    generator: torch.Generator | None = None,
) -> WeightedRandomSampler:
    """Build PyTorch's own :class:`~torch.utils.data.WeightedRandomSampler` from labels.

    The per-sample weights are :func:`balancers.sample_weights` ``(labels, scheme,
    reduce=reduce)``.

    Args:
        labels: labels in any accepted form, or a Dataset.
        scheme: ``"inverse"``, ``"sqrt"``, ``"effective"`` or ``"balanced"``.
        reduce: how multilabel rows combine their labels' weights.
        num_samples: draws per epoch; default the number of samples.
        replacement: passed to ``WeightedRandomSampler``.
        generator: passed to ``WeightedRandomSampler``.

    Raises:
        ValueError: more than 2**24 samples (``torch.multinomial``'s limit: use
            :class:`WeightedSampler`), or ``num_samples`` too large without replacement.

    Example:
        >>> sampler = weighted_random_sampler([0, 0, 0, 1])
        >>> sampler.weights.tolist()
        [0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 1.0]
    """
    weights = sample_weights(labels, scheme, reduce=reduce)
    n = int(weights.shape[0])
    replacement = check_bool(replacement, "replacement")
    checked = check_int(num_samples, "num_samples", minimum=1, allow_none=True)
    draws = n if checked is None else checked
    if n > _TORCH_MULTINOMIAL_LIMIT:
        raise ValueError(
            f"`labels` has {n} samples, but torch's WeightedRandomSampler cannot draw from more "
            f"than 2**24 = {_TORCH_MULTINOMIAL_LIMIT} weights. Use balancers.WeightedSampler("
            "balancers.sample_weights(labels)) instead."
        )
    if not replacement and draws > n:
        raise ValueError(
            f"`num_samples` should be at most {n} when replacement=False, but got "
            f"num_samples={draws}."
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"`generator` should be a torch.Generator or None, but got {type(generator).__name__}."
        )
    return WeightedRandomSampler(
        weights,  # type: ignore[arg-type]  # torch accepts a tensor of weights
        num_samples=draws,
        replacement=replacement,
        generator=generator,
    )
