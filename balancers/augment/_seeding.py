"""Per-item random state for albumentations pipelines, keyed by (seed, epoch, item).

albumentations 2.x draws every random number of a pipeline from a numpy ``Generator`` and a
``random.Random`` that it holds; ``transform.set_random_state(generator, py_random)`` (its
public API) installs both on the whole tree. :class:`ItemRandom` installs its own pair once and,
before each item, puts both in the item's state through public APIs only: the bit generator's
``state`` property plus ``advance``, and ``random.Random.seed``. So an item's pixels are a pure
function of (seed, epoch, k), whichever process, rank or DataLoader worker computes them, and no
global RNG is read or written.

The stream (version :data:`AUGMENT_STREAM`): for each epoch, four 64-bit words ``w`` are drawn
from ``make_rng(seed, epoch)`` (``np.random.Generator(PCG64(SeedSequence([seed, epoch])))``).
Item ``k`` gets

* numpy: PCG64 with state ``w[0] * 2**64 + w[1]`` and increment ``w[2] * 2**64 + 1`` (odd),
  advanced by ``k * 2**64`` steps (so items draw from disjoint parts of one period);
* Python: ``random.Random`` seeded with the integer ``w[3] * 2**64 + k``.

Any change to these rules changes the pixels of a seed, and so bumps :data:`AUGMENT_STREAM`
(recorded in every ``materialize`` manifest).

Transforms without ``set_random_state`` (albumentations < 2, or other callables following the
``transform(image=...)`` convention) fall back to seeding Python's and numpy's global generators
around the call and restoring the caller's states afterwards.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np

from .._rng import make_rng

__all__ = ["AUGMENT_STREAM", "ItemRandom"]

AUGMENT_STREAM = 2
"""Version of the rules that turn (seed, epoch, k) into an item's random state (recorded by
``materialize``; version 1 was an earlier, SplitMix64-based stream)."""


class ItemRandom:
    """A numpy ``Generator`` and a ``random.Random`` put in the state of item ``k`` of ``epoch``.

    Example:
        >>> r = ItemRandom(seed=0)
        >>> r.reseed(epoch=0, k=5)
        >>> a, b = r.generator.random(), r.py_random.random()
        >>> r.reseed(epoch=0, k=5)
        >>> (a, b) == (r.generator.random(), r.py_random.random())
        True
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self.bit_generator = np.random.PCG64(0)
        self.generator = np.random.Generator(self.bit_generator)
        self.py_random = random.Random(0)
        self._epoch: int | None = None
        self._state: dict[str, Any] = {}
        self._py_key = 0

    def _epoch_state(self, epoch: int) -> None:
        if self._epoch != epoch:
            w = [int(x) for x in make_rng(self.seed, epoch).integers(0, 2**64, 4, np.uint64)]
            state = {"state": (w[0] << 64) | w[1], "inc": (w[2] << 64) | 1}
            self._state = {"bit_generator": "PCG64", "state": state, "has_uint32": 0, "uinteger": 0}
            self._py_key = w[3] << 64
            self._epoch = epoch

    def reseed(self, epoch: int, k: int) -> None:
        """Put both generators in the state of item ``k`` (non-negative) of ``epoch``."""
        self._epoch_state(epoch)
        self.bit_generator.state = self._state  # type: ignore[assignment]
        self.bit_generator.advance(k << 64)
        self.py_random.seed(self._py_key | k)

    def state_int(self, epoch: int, k: int) -> int:
        """A 128-bit integer that identifies item ``k`` of ``epoch`` (the numpy state)."""
        self.reseed(epoch, k)
        return int(self.bit_generator.state["state"]["state"])

    def call(self, transform: Callable[..., Any], epoch: int, k: int, image: Any) -> Any:
        """Run ``transform(image=image)`` with the random state of item ``k`` in ``epoch``.

        ``transform`` should be the dataset's own copy: its random state is set to this
        object's generators (once).
        """
        setter = getattr(transform, "set_random_state", None)
        if setter is not None:
            if getattr(transform, "py_random", None) is not self.py_random:
                setter(self.generator, self.py_random)
            self.reseed(epoch, k)
            return transform(image=image)
        state = self.state_int(epoch, k)
        py_state = random.getstate()
        np_state = np.random.get_state()  # noqa: NPY002 - restored below
        try:
            random.seed(state)
            np.random.seed(state & 0xFFFFFFFF)  # noqa: NPY002 - restored below
            return transform(image=image)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)  # noqa: NPY002
