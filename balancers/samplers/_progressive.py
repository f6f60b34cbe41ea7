"""``ProgressivelyBalancedSampler``: from instance-balanced to class-balanced over the epochs."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._labels import check_multiclass
from .._validation import check_int
from ._class_balanced import ClassThenInstanceSampler

__all__ = ["ProgressivelyBalancedSampler"]


class ProgressivelyBalancedSampler(ClassThenInstanceSampler):
    """Class probabilities that move linearly from the label distribution to uniform.

    In epoch ``t`` a class is drawn with probability
    ``p_c(t) = (1 - t/T) * n_c / N + (t/T) * 1 / C`` with ``T = epochs`` and ``t`` clamped at
    ``T`` (Kang et al. 2020), then an instance of it is taken from the class's shuffled cycle as
    in :class:`ClassBalancedSampler`. Call ``set_epoch(t)`` every epoch (or let each new
    iteration advance the epoch).

    Args:
        labels: multiclass labels in any accepted form, or a Dataset.
        epochs: ``T``, the epoch from which sampling is fully class-balanced (``>= 1``).
        num_samples: draws per epoch (global, before DDP sharding); default the dataset size.
        seed: seed of the per-epoch generators.
        num_replicas: DDP world size (default: from torch.distributed, else 1).
        rank: DDP rank (default: from torch.distributed, else 0).
        drop_last: truncate instead of pad so that ranks get equal shards.

    Guarantees:
        * epoch 0 is instance-balanced, epoch ``T`` and later class-balanced;
        * within an epoch, class draws are independent and instances cycle through shuffled
          per-class lists (see :class:`ClassBalancedSampler`);
        * the epoch is a pure function of ``(seed, epoch)``.

    Raises:
        TypeError: ``epochs`` is not an integer.
        ValueError: ``epochs <= 0``; multilabel labels.

    References:
        Kang, B. et al. "Decoupling Representation and Classifier for Long-Tailed Recognition",
        ICLR 2020 (progressively-balanced sampling).

    Example:
        >>> sampler = ProgressivelyBalancedSampler([0, 0, 0, 1], epochs=2)
        >>> sampler.class_probabilities(0).tolist(), sampler.class_probabilities(1).tolist()
        ([0.75, 0.25], [0.625, 0.375])
        >>> sampler.class_probabilities(5).tolist()
        [0.5, 0.5]
    """

    def __init__(
        self,
        labels: Any,
        *,
        epochs: int,
        num_samples: int | None = None,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        lab = check_multiclass(
            labels, "ProgressivelyBalancedSampler", "ClassBalancedSampler or ClassAwareSampler"
        )
        self.epochs = check_int(
            epochs,
            "epochs",
            minimum=1,
            hint="Pass the number of epochs over which sampling moves to class-balanced.",
        )
        super().__init__(
            lab,
            num_samples=num_samples,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            drop_last=drop_last,
        )
        counts = lab.counts.astype(np.float64)
        self._instance = counts / counts.sum()
        self._balanced = np.full(lab.n_classes, 1.0 / lab.n_classes)

    def class_probabilities(self, epoch: int = 0) -> npt.NDArray[np.float64]:
        """``p_c(t)`` for ``t = min(epoch, epochs)``, ordered like ``labels.classes``."""
        e = check_int(epoch, "epoch", minimum=0)
        frac = min(e, self.epochs) / self.epochs
        probs: npt.NDArray[np.float64] = (1.0 - frac) * self._instance + frac * self._balanced
        return probs

    def _own_repr(self) -> str:
        return f"epochs={self.epochs}"
