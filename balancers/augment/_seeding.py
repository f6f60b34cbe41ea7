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
:meth:`ItemRandom.run`); a single item computes them lazily in Python
(:meth:`ItemRandom.reseed`), with the same values. ``random()`` is then the C-level ``__next__``
of an iterator over those doubles (an item that needs more is run again with its whole stream).
Installing an item is two attribute stores on the ``random.Random``; the numpy side follows
it: the pipeline's generator is an :class:`ItemGenerator`, which writes the item's PCG64 state
straight into the bit generator's memory (layout checked at start-up; the ``state`` property
otherwise) the first time the item uses it. Pipelines whose draws are all Python-side (flips,
affine, brightness/contrast) thus never pay for the numpy state. Reseeding a Mersenne Twister
(``random.Random.seed``) instead would cost about 5 microseconds per item, 5% of a whole
pipeline on a 32x32 image.

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

__all__ = ["PREFILL", "Entry", "ItemGenerator", "ItemRandom", "StreamRandom"]

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
    is built (and after a test write); where it does not match, :class:`ItemRandom` sets the
    ``state`` property instead.
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


def _unsynced() -> None:
    """What an :class:`ItemGenerator` built without an owner does before each use: nothing."""


_GENERATOR_GETATTR = np.random.Generator.__getattribute__


class ItemGenerator(np.random.Generator):
    """A numpy ``Generator`` that enters the current item's state when the item first uses it.

    A pipeline reaches its generator only through attributes (``generator.integers(...)``,
    ``generator.normal``, ...); every attribute read first calls ``sync`` (of
    :class:`ItemRandom`), which writes the installed item's PCG64 state if the generator is not
    in it yet. So installing an item costs nothing on the numpy side, and an item that draws
    from numpy gets exactly the state it would get from an eager install. It is a real
    ``np.random.Generator`` (``isinstance`` checks and C-level code that takes a Generator work);
    only code that keeps a bound method (``draw = generator.random``) across items would bypass
    the switch, which albumentations does not do.

    Args:
        bit_generator: the PCG64 bit generator whose state :class:`ItemRandom` writes.
        sync: called before every attribute read (None: nothing is called).

    Example:
        >>> r = ItemRandom(seed=0)
        >>> isinstance(r.generator, np.random.Generator)
        True
        >>> r.reseed(epoch=0, k=5)
        >>> a = r.generator.random()
        >>> r.reseed(epoch=0, k=5)
        >>> a == r.generator.random()
        True
    """

    __slots__ = ("_sync",)

    def __init__(
        self, bit_generator: np.random.PCG64, sync: Callable[[], None] | None = None
    ) -> None:
        self._sync = _unsynced if sync is None else sync  # set before any attribute is read
        super().__init__(bit_generator)

    def __getattribute__(self, name: str) -> Any:
        _GENERATOR_GETATTR(self, "_sync")()
        return _GENERATOR_GETATTR(self, name)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt unsynced; the ItemRandom that owns it reconnects it (ItemRandom.__setstate__).
        return (type(self), (self.bit_generator,))


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
        self.py_random = StreamRandom()
        self.generator = ItemGenerator(self.bit_generator, self.sync)
        self._epoch: int | None = None
        self._key = 0
        self._offsets = np.zeros((2, 1), np.uint64)
        self._inc = 1
        #: True once an item of this process drew all its prefilled doubles (see :meth:`run`).
        self.whole_streams = False
        self._attach()

    def _attach(self) -> None:
        """Find the bit generator's memory (None: set its ``state`` property instead)."""
        self._writer = _writer(self.bit_generator)  # its check overwrites the state
        if self._writer is not None:
            self._writer.set_inc(self._inc)
        self._synced: Entry | None = None  # the entry whose state the bit generator holds

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_writer"], state["_synced"]  # an address in this process; a batch's entry
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.generator._sync = self.sync  # pickled without its owner
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
        """The states of items ``ks`` (non-negative) of ``epoch``, for :meth:`install`
        (vectorized).

        Each entry holds the item's words (as :meth:`words`) and the first :data:`PREFILL`
        doubles of its ``random()`` stream.
        """
        self._epoch_key(epoch)
        # Row 0: key + (2k + 1) * G, row 1: key + (2k + 2) * G; mixed, the words (hi, lo).
        words = ks.view(np.uint64) * _TWO_GOLDEN + self._offsets
        lo = _fmix64_array(words)[1]
        z = _fmix64_array(lo[:, None] + _STEPS) >> _SHIFTS[3]
        doubles = z * _UNIT  # float64, exact: z < 2**53
        # Rows as views: a draw makes its Python float when it is taken, not before.
        flat = memoryview(doubles.reshape(-1))
        rows = [flat[a : a + PREFILL] for a in range(0, len(flat), PREFILL)]
        his, los = words.tolist()
        return list(zip(his, los, rows, strict=True))

    def install(self, entry: Entry) -> None:
        """Put both generators in the state ``entry`` of an item of the current epoch (the last
        one given to :meth:`plan`, :meth:`words` or :meth:`reseed`): the ``random.Random`` now,
        the numpy generator when the item first uses it (:meth:`sync`)."""
        self._synced = None  # even the same entry again starts from its state
        self.py_random.install(entry)

    def sync(self) -> None:
        """Put the bit generator in the state of the installed item, unless it is there already
        (called by :class:`ItemGenerator` before every use)."""
        entry = self.py_random._entry
        if entry is self._synced:
            return
        self._synced = entry
        hi, lo, _ = entry
        if self._writer is not None:
            self._writer.write(hi, lo)
        else:
            _set_state(self.bit_generator, (hi << 64) | lo, self._inc)

    def run(
        self,
        transform: Callable[..., Any],
        epoch: int,
        ks: npt.NDArray[np.int64],
        images: Sequence[Any],
    ) -> list[Any]:
        """``[transform(image=x) for x in images]``, image ``i`` drawn with the random state of
        item ``ks[i]`` of ``epoch`` (``transform`` bound with :meth:`bind`).

        The states are planned in one vectorized pass. While no item of this process has drawn
        all :data:`PREFILL` of its planned doubles, ``random()`` is the ``__next__`` of a plain
        iterator over them (a chain with the lazily computed rest costs about 1% of a 32x32
        pipeline). An item that reached their end, so that a further draw may have met
        ``StopIteration``, is computed again with its whole stream (:meth:`install`), and so is
        every item when the pass raises (a real error is then raised again); from then on items
        get their whole stream at once. Either way each result is the one of the item's
        unbounded stream.
        """
        entries = self.plan(epoch, ks)
        spilled: list[int] = []
        installs = self._installs(entries, spilled)
        try:
            results = [transform(image=x) for _, x in zip(installs, images, strict=True)]
            redo: Sequence[int] = spilled
        except Exception:
            self.whole_streams = True
            results = [None] * len(images)
            redo = range(len(images))
        for j in redo:
            self.install(entries[j])
            results[j] = transform(image=images[j])
        return results

    def _installs(self, entries: list[Entry], spilled: list[int]) -> Iterator[None]:
        """Install ``entries[0]``, ``entries[1]``, ..., one per ``next()``: :meth:`install`, or
        while streams are not whole, its inlined prefilled-only form, which appends to
        ``spilled`` the positions of the items that drew all their prefilled doubles (see
        :meth:`run`)."""
        if self.whole_streams:
            for entry in entries:
                self.install(entry)
                yield
            return
        py_random = self.py_random
        py_dict = py_random.__dict__
        for j, entry in enumerate(entries):
            draw = iter(entry[2]).__next__
            py_random._entry = entry
            py_dict["random"] = draw
            yield
            try:
                draw()  # a prefilled double left over: the item drew only prefilled ones
            except StopIteration:
                spilled.append(j)
                self.whole_streams = True

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
