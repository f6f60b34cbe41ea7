"""Per-item random state for albumentations pipelines, keyed by (seed, epoch, item).

albumentations 2.x draws every random number of a pipeline from two objects it holds: a numpy
``Generator`` (``transform.random_generator``) and a ``random.Random`` (``transform.py_random``),
both installed on the whole tree with ``transform.set_random_state(generator, py_random)``. We
install, once per process, a generator over one PCG64 bit generator and one
:class:`StreamRandom`; before each item we put both in the item's state. So an item's pixels are
a pure function of (seed, epoch, k), whichever process or DataLoader worker computes them, and no
global RNG is read or written.

The item's state is two 64-bit words ``(hi, lo)``: the SplitMix64 finaliser (Steele et al. 2014)
of ``key + (2k + 1) * G`` and of ``key + (2k + 2) * G``, where ``G`` is the golden-ratio
increment and ``key`` a per-epoch word drawn from :func:`balancers._rng.make_rng`. From them:

* the numpy side: the PCG64 state ``hi * 2**64 + lo`` (with a per-epoch increment);
* the Python side, as two SplitMix64 streams: ``random()`` returns
  ``(fmix64(lo + j * G) >> 11) * 2**-53`` for ``j = 1, 2, ...`` and ``getrandbits`` takes 64-bit
  words ``fmix64(hi + j * G)`` (all sums modulo ``2**64``).

Both Python streams are counter-based, so the words and the first :data:`PREFILL` doubles of a
whole DataLoader batch are computed in one vectorized numpy pass (:meth:`ItemRandom.plan`,
:meth:`ItemRandom.states`); a single item computes them lazily in Python
(:meth:`ItemRandom.reseed`), with the same values. ``random()`` is then the C-level ``__next__``
of an iterator over those doubles, and the PCG64 state is written straight into the bit
generator's memory (layout checked at start-up; the ``state`` property otherwise). Per item this
costs about a microsecond, where reseeding a Mersenne Twister (``random.Random.seed``) alone
costs about 5 microseconds, 5% of a whole pipeline on a 32x32 image.

Transforms without ``set_random_state`` (albumentations < 2, or other callables following the
``transform(image=...)`` convention) fall back to seeding Python's and numpy's global generators
around the call and restoring the caller's states afterwards.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._rng import make_rng

__all__ = ["PREFILL", "Entry", "ItemRandom", "StreamRandom"]

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_UNIT = 2.0**-53

#: Doubles of the Python stream computed ahead for each item of a batch (a 32x32 pipeline of
#: flip, affine and brightness/contrast draws at most 12); later draws are computed lazily.
PREFILL = 16

_U64 = np.uint64
_NP_GOLDEN = _U64(_GOLDEN)
_NP_MIX1 = _U64(_MIX1)
_NP_MIX2 = _U64(_MIX2)
_SHIFTS = (_U64(30), _U64(27), _U64(31), _U64(11))
_STEPS = np.arange(1, PREFILL + 1, dtype=np.uint64) * _NP_GOLDEN
_TWO_GOLDEN = _U64((2 * _GOLDEN) & _MASK)


def _fmix64(z: int) -> int:
    """SplitMix64 finaliser: a bijective 64-bit mix."""
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    return z ^ (z >> 31)


def _fmix64_array(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """:func:`_fmix64` on every element of a uint64 array (in place; arithmetic wraps)."""
    z ^= z >> _SHIFTS[0]
    z *= _NP_MIX1
    z ^= z >> _SHIFTS[1]
    z *= _NP_MIX2
    z ^= z >> _SHIFTS[2]
    return z


def _doubles(word: int, start: int = 1) -> Iterator[float]:
    """The ``random()`` stream of an item from draw ``start`` on (1-based)."""
    z = (word + start * _GOLDEN) & _MASK
    while True:
        yield (_fmix64(z) >> 11) * _UNIT
        z = (z + _GOLDEN) & _MASK


def _words(word: int) -> Iterator[int]:
    """The 64-bit ``getrandbits`` stream of an item."""
    z = word
    while True:
        z = (z + _GOLDEN) & _MASK
        yield _fmix64(z)


#: The random state of one item: its words ``(hi, lo)`` and the first doubles of its ``random()``
#: stream (a list, or a memoryview of float64; empty: all computed lazily).
Entry = tuple[int, int, "Sequence[float] | memoryview"]


class _Tail:
    """The doubles of the current item past the prefilled ones (iterated only when a pipeline
    draws more than :data:`PREFILL` of them)."""

    __slots__ = ("owner",)

    def __init__(self, owner: StreamRandom) -> None:
        self.owner = owner

    def __iter__(self) -> Iterator[float]:
        _, lo, doubles = self.owner._entry
        return _doubles(lo, len(doubles) + 1)


class StreamRandom(random.Random):
    """A ``random.Random`` that draws from the per-item streams installed by :class:`ItemRandom`.

    ``random.Random`` builds every method (``uniform``, ``randint``, ``choice``, ``shuffle``,
    ...) on ``random()`` and ``getrandbits()``. Here ``random`` is an instance attribute, the
    C-level ``__next__`` of an iterator over the item's doubles (as fast as the Mersenne
    Twister's own ``random``), and ``getrandbits`` reads the item's word stream; ``gauss`` keeps
    no spare value between calls (so nothing carries over from one item to the next). The
    Mersenne Twister core of the base class is never used; ``seed``, ``getstate`` and
    ``setstate`` are not supported.

    Example:
        >>> r = StreamRandom()
        >>> r.install((7, 3, [0.25, 0.5]))
        >>> r.random(), r.uniform(0.0, 4.0)
        (0.25, 2.0)
    """

    def __init__(self) -> None:
        super().__init__(0)
        self._tail = _Tail(self)
        self._words_of: Entry | None = None
        self._words = _words(0)
        self.install((0, 0, []))

    def seed(self, a: Any = None, version: int = 2) -> None:
        """Ignored (the state is installed per item); kept for ``random.Random.__init__``."""

    def getstate(self) -> Any:
        raise NotImplementedError("StreamRandom draws from per-item streams; it has no state")

    def setstate(self, state: Any) -> None:
        raise NotImplementedError("StreamRandom draws from per-item streams; it has no state")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ())

    def install(self, entry: Entry) -> None:
        """Draw from the streams of the item whose state is ``entry``."""
        self._entry = entry
        self._words_of = None
        self.__dict__["random"] = itertools.chain(entry[2], self._tail).__next__

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        """Normal draw (Box-Muller, both uniforms drawn on every call)."""
        angle = self.random() * 2.0 * math.pi
        radius = math.sqrt(-2.0 * math.log(1.0 - self.random()))
        return mu + math.cos(angle) * radius * sigma

    def getrandbits(self, k: int) -> int:
        """``k`` random bits from the item's word stream."""
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        if self._words_of is not self._entry:
            self._words_of = self._entry
            self._words = _words(self._entry[0])
        if k <= 64:
            return next(self._words) >> (64 - k) if k else 0
        value = 0
        for i in range((k + 63) // 64):
            value |= next(self._words) << (64 * i)
        return value & ((1 << k) - 1)


class _StateWriter:
    """Writes a PCG64 bit generator's 128-bit state straight into its memory.

    Setting ``bit_generator.state`` parses a dict (a few microseconds per item in a DataLoader);
    this writes the two state words and clears the buffered 32-bit draw through ``ctypes``. The
    layout of numpy's ``pcg64_state`` is checked against the ``state`` property when the writer
    is built (and after a test write); where it does not match, :meth:`ItemRandom.install`
    sets the ``state`` property instead.
    """

    def __init__(self, bit_generator: np.random.PCG64) -> None:
        address = bit_generator.ctypes.state_address
        pointer = ctypes.c_void_p.from_address(address).value
        if not pointer:
            raise ValueError("no PCG64 state")
        self.bit_generator = bit_generator  # keeps the memory alive
        self.words = (ctypes.c_uint64 * 4).from_address(pointer)
        self.has_uint32 = ctypes.c_int.from_address(address + ctypes.sizeof(ctypes.c_void_p))
        state, inc = 0x0123456789ABCDEF_FEDCBA9876543210, 0x1111111111111111_3333333333333333
        _set_state(bit_generator, state, inc, has_uint32=1)
        if list(self.words) != [state & _MASK, state >> 64, inc & _MASK, inc >> 64]:
            raise ValueError("unexpected PCG64 state layout")
        if self.has_uint32.value != 1:
            raise ValueError("unexpected PCG64 state layout")
        hi, lo, inc = 0x5555555555555555, 0x7777777777777777, 0x2222222222222222_4444444444444445
        self.write(hi, lo)
        self.set_inc(inc)
        got = bit_generator.state
        if got["state"] != {"state": (hi << 64) | lo, "inc": inc} or got["has_uint32"] != 0:
            raise ValueError("unexpected PCG64 state layout")

    def write(self, hi: int, lo: int) -> None:
        """Set the state ``hi * 2**64 + lo``, with no buffered 32-bit draw."""
        words = self.words
        words[0] = lo
        words[1] = hi
        self.has_uint32.value = 0

    def set_inc(self, inc: int) -> None:
        """Set the increment (odd, below ``2**128``)."""
        self.words[2] = inc & _MASK
        self.words[3] = inc >> 64


def _writer(bit_generator: np.random.PCG64) -> _StateWriter | None:
    try:
        return _StateWriter(bit_generator)
    except Exception:  # pragma: no cover - another numpy layout: set the state property
        return None


def _set_state(bit_generator: np.random.PCG64, state: int, inc: int, has_uint32: int = 0) -> None:
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": state, "inc": inc},
        "has_uint32": has_uint32,
        "uinteger": 0,
    }


class ItemRandom:
    """The random state of one item: a numpy Generator and a ``random.Random``, both keyed by
    (seed, epoch, k).

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
        self.py_random = StreamRandom()
        self._epoch: int | None = None
        self._key = 0
        self._offsets = np.zeros((2, 1), np.uint64)
        self._inc = 1
        self._attach()

    def _attach(self) -> None:
        """Find the bit generator's memory (None: set its ``state`` property instead)."""
        self._writer = _writer(self.bit_generator)  # its check overwrites the state
        self._state_words = None if self._writer is None else self._writer.words
        self._has_uint32 = None if self._writer is None else self._writer.has_uint32
        if self._writer is not None:
            self._writer.set_inc(self._inc)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_writer", "_state_words", "_has_uint32"):  # addresses in this process
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._attach()

    def _epoch_key(self, epoch: int) -> None:
        if self._epoch != epoch:
            words = make_rng(self.seed, epoch).integers(0, 2**64, size=2, dtype=np.uint64)
            self._key = int(words[0])
            self._offsets = np.array(
                [[(self._key + _GOLDEN) & _MASK], [(self._key + 2 * _GOLDEN) & _MASK]], np.uint64
            )
            self._inc = (int(words[1]) << 1 | 1) & ((1 << 128) - 1)
            self._epoch = epoch
            if self._writer is not None:
                self._writer.set_inc(self._inc)

    def words(self, epoch: int, k: int) -> tuple[int, int]:
        """The two 64-bit words ``(hi, lo)`` of item ``k`` in ``epoch``."""
        self._epoch_key(epoch)
        base = self._key + (2 * k + 1) * _GOLDEN
        return _fmix64(base & _MASK), _fmix64((base + _GOLDEN) & _MASK)

    def state_int(self, epoch: int, k: int) -> int:
        """The 128-bit PCG64 state of item ``k`` in ``epoch``."""
        hi, lo = self.words(epoch, k)
        return (hi << 64) | lo

    def plan(self, epoch: int, ks: npt.NDArray[np.int64]) -> list[Entry]:
        """The states of items ``ks`` of ``epoch``, for :meth:`install` (vectorized).

        Each entry holds the item's words (as :meth:`words`) and the first :data:`PREFILL`
        doubles of its ``random()`` stream.
        """
        self._epoch_key(epoch)
        # Row 0: key + (2k + 1) * G, row 1: key + (2k + 2) * G; mixed, the words (hi, lo).
        words = ks.astype(np.uint64) * _TWO_GOLDEN + self._offsets
        lo = _fmix64_array(words)[1]
        z = _fmix64_array(lo[:, None] + _STEPS) >> _SHIFTS[3]
        doubles = z.astype(np.float64)
        doubles *= _UNIT  # exact: z < 2**53
        # Rows as views: a draw makes its Python float when it is taken, not before.
        flat = memoryview(doubles.reshape(-1))
        rows = [flat[a : a + PREFILL] for a in range(0, len(flat), PREFILL)]
        his, los = words.tolist()
        return list(zip(his, los, rows, strict=True))

    def install(self, entry: Entry) -> None:
        """Put both generators in the state ``entry`` of an item of the current epoch (the last
        one given to :meth:`plan`, :meth:`words` or :meth:`reseed`)."""
        hi, lo, _ = entry
        if self._writer is not None:
            self._writer.write(hi, lo)
        else:
            _set_state(self.bit_generator, (hi << 64) | lo, self._inc)
        self.py_random.install(entry)

    def states(self, epoch: int, ks: npt.NDArray[np.int64]) -> Iterator[None]:
        """Put both generators in the state of ``ks[0]``, ``ks[1]``, ... of ``epoch``, one item
        per ``next()`` (the states planned in one vectorized pass; :meth:`install` inlined)."""
        entries = self.plan(epoch, ks)
        words, has_uint32 = self._state_words, self._has_uint32
        if words is None or has_uint32 is None:
            for entry in entries:
                self.install(entry)
                yield
            return
        py_random = self.py_random
        py_dict, tail, chain = py_random.__dict__, py_random._tail, itertools.chain
        for entry in entries:
            words[0] = entry[1]
            words[1] = entry[0]
            has_uint32.value = 0
            py_random._entry = entry  # a new tuple: getrandbits restarts its words
            py_dict["random"] = chain(entry[2], tail).__next__
            yield

    def reseed(self, epoch: int, k: int) -> None:
        """Put both generators in the state of item ``k`` in ``epoch``."""
        hi, lo = self.words(epoch, k)
        self.install((hi, lo, []))

    def bind(self, transform: Any) -> bool:
        """Install the shared generators on an albumentations transform tree.

        Returns False when ``transform`` has no ``set_random_state`` (older albumentations or
        another callable); :meth:`call` then seeds the global generators around each call.
        """
        setter = getattr(transform, "set_random_state", None)
        if setter is None:
            return False
        if (
            getattr(transform, "random_generator", None) is not self.generator
            or getattr(transform, "py_random", None) is not self.py_random
        ):
            setter(self.generator, self.py_random)
        return True

    def call(self, transform: Callable[..., Any], epoch: int, k: int, image: Any) -> Any:
        """Run ``transform(image=image)`` with the random state of item ``k`` in ``epoch``."""
        if self.bind(transform):
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
