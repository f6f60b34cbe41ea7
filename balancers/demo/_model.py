"""The demo's networks: a small CNN for 8x8 digits, LeNet-5 for 28x28 images."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["build_model"]


def _small_cnn(n_classes: int) -> nn.Module:
    """A two-convolution network for 8x8 digits (about 40k parameters)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64),
        nn.ReLU(),
        nn.Linear(64, n_classes),
    )


def _lenet(n_classes: int) -> nn.Module:
    """LeNet-5 (LeCun et al. 1998) with ReLU and max pooling, for 28x28 images."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, n_classes),
    )


def build_model(image_size: int, n_classes: int, seed: int) -> nn.Module:
    """The demo's network, initialised from ``seed`` without touching the global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _small_cnn(n_classes) if image_size <= 8 else _lenet(n_classes)
