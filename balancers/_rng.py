"""Private random generators: nothing in balancers touches a global RNG.

Every random draw comes from ``np.random.Generator(np.random.PCG64(SeedSequence(...)))`` keyed by
the user's seed and by the coordinates of the draw (epoch, item, ...), so the same inputs give the
same output on any machine, process, rank or number of DataLoader workers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_rng", "resolve_seed"]


def resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or fresh OS entropy (a 63-bit int) when ``seed`` is None."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(2, np.uint64)[0] >> np.uint64(1))
    return int(seed)


def make_rng(seed: int | None, *keys: int) -> np.random.Generator:
    """A PCG64 generator for ``seed`` and the non-negative integer ``keys`` (epoch, item, ...).

    Example:
        >>> bool(make_rng(0, 3).integers(10**6) == make_rng(0, 3).integers(10**6))
        True
    """
    entropy = [resolve_seed(seed), *(int(k) for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
