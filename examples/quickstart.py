"""Quick start: a long-tailed subset of real handwritten digits, then what a sampler draws.

Uses scikit-learn's bundled digits (1797 real 8x8 images, no download): keeps an exponential
long-tailed subset (class 0 full, class 9 at 1/20), prints its class counts, then the class counts
that ``WeightedSampler`` with inverse-frequency weights draws in one epoch, and the same through a
``DataLoader``.

Run: ``python examples/quickstart.py``
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from balancers import WeightedSampler, describe, sample_weights
from balancers.datasets import long_tail_counts, long_tail_indices


def main() -> None:
    digits = load_digits()
    x, y = digits.data.astype(np.float32), digits.target
    counts = long_tail_counts(150, 10, imbalance_ratio=20)  # exponential profile
    idx = long_tail_indices(y, counts, seed=0)
    dataset = TensorDataset(torch.from_numpy(x[idx]), torch.from_numpy(y[idx]))

    print("Long-tailed training subset:")
    print(describe(dataset))

    sampler = WeightedSampler(sample_weights(dataset), seed=0)
    loader = DataLoader(dataset, batch_size=64, sampler=sampler)
    drawn = torch.cat([target for _, target in loader])
    print()
    print(f"One epoch of WeightedSampler ({len(sampler)} draws) through a DataLoader:")
    print(describe(drawn.numpy()))


if __name__ == "__main__":
    main()
