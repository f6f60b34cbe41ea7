"""The sampler engine shared by every balancers sampler.

A sampler says only how to draw one epoch's *global* index sequence from a generator seeded by
``(seed, epoch)`` (:meth:`EpochSampler._draw_epoch`). The engine owns everything else:

* epochs: :meth:`~EpochSampler.set_epoch` pins the epoch (DDP); without it each new iteration
  advances to the next epoch;
* DDP sharding: with ``num_replicas`` ranks, rank ``r`` yields positions ``r, r + R, ...`` of the
  global sequence, padded by wrapping around (or truncated with ``drop_last``) so that every rank
  yields the same number of items, like :class:`torch.utils.data.DistributedSampler`;
* chunked iteration: the rank's shard is converted to Python ints a chunk at a time and served
  by list iterators chained in C (no Python frame resumed per item);
* mid-epoch resume: :meth:`~EpochSampler.state_dict` records ``(epoch, yielded)``; after
  :meth:`~EpochSampler.load_state_dict` the next iteration regenerates that epoch's sequence (a
  vectorized call, no replay) and yields exactly the items not yet yielded;
* batch mode: :meth:`~EpochSampler.batches` serves the same sequence as lists of indices for
  ``DataLoader(batch_sampler=...)``.

A sampler whose units are whole batches (``BalancedBatchSampler``) returns a 2-D array from
``_draw_epoch``; rows are then the units that are sharded, counted and yielded (as lists).
"""

from __future__ import annotations

import itertools
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import torch.distributed as dist
from torch.utils.data import Sampler

from .._rng import make_rng, resolve_seed
from .._validation import check_bool, check_int, check_seed

__all__ = ["EpochSampler", "IndexBatchSampler", "resolve_replicas"]

T_co = TypeVar("T_co", covariant=True)

_CHUNK = 1 << 16
_STATE_VERSION = 2
#: the keys of a state dict; version 1 states have all of them but ``sampler``
_STATE_KEYS = ("version", "sampler", "epoch", "yielded", "pinned", "seed", "num_replicas", "rank")


def resolve_replicas(num_replicas: Any, rank: Any) -> tuple[int, int]:
    """``(num_replicas, rank)`` with torch.distributed's values as defaults, validated.

    Both default to the initialized process group's world size and rank, else to 1 and 0.

    Raises:
        TypeError: a value is not an integer.
        ValueError: ``num_replicas < 1`` or ``rank`` outside ``[0, num_replicas)``.
    """
    initialized = dist.is_available() and dist.is_initialized()
    if num_replicas is None:
        num_replicas = dist.get_world_size() if initialized else 1
    if rank is None:
        rank = dist.get_rank() if initialized else 0
    replicas = check_int(num_replicas, "num_replicas", minimum=1)
    assert replicas is not None
    r = check_int(rank, "rank", minimum=0)
    assert r is not None
    if r >= replicas:
        raise ValueError(
            f"`rank` should be in [0, num_replicas - 1] = [0, {replicas - 1}], but got "
            f"rank={r} with num_replicas={replicas}."
        )
    return replicas, r


class EpochSampler(Sampler[T_co], ABC, Generic[T_co]):
    """Base class of all balancers samplers: deterministic, DDP-ready and resumable.

    Subclasses implement :meth:`_draw_epoch` and call ``super().__init__`` with the engine's
    keyword arguments.

    Args:
        num_samples: global number of draws (units) per epoch, before sharding; None means the
            subclass default (usually the dataset size).
        seed: seed of the epoch generators; the same seed gives the same sequences everywhere.
        num_replicas: number of DDP ranks (default: the process group's world size, else 1).
        rank: this process's rank (default: the process group's rank, else 0).
        drop_last: drop the tail of the global sequence so that it divides evenly among ranks
            instead of padding it by wrapping around.

    Guarantees:
        * the global sequence of epoch ``e`` is a pure function of ``(seed, e)`` and the
          sampler's arguments;
        * every rank yields ``len(sampler)`` items (for samplers with a fixed epoch size); the
          shards are disjoint by position and interleave back into the global sequence;
        * resuming from :meth:`state_dict` yields exactly the items not yet yielded.
    """

    #: whether units are whole batches (2-D epochs yielded as lists)
    _yields_batches: bool = False

    def __init__(
        self,
        *,
        num_samples: int | None,
        default_num_samples: int,
        seed: int | None = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        checked = check_int(num_samples, "num_samples", minimum=1, allow_none=True)
        self.num_samples: int = default_num_samples if checked is None else checked
        seed_checked = check_seed(seed)
        self.num_replicas, self.rank = resolve_replicas(num_replicas, rank)
        if seed_checked is None:
            if self.num_replicas > 1:
                raise ValueError(
                    "`seed` should be an integer when num_replicas > 1 (ranks must agree on the "
                    "order), but got seed=None. Pass the same integer seed on every rank."
                )
            seed_checked = resolve_seed(None)
        self.seed: int = seed_checked
        self.drop_last = check_bool(drop_last, "drop_last")
        self._epoch = 0  # epoch of the next fresh iteration
        self._pinned = False
        self._resume: tuple[int, int] | None = None  # (epoch, units already yielded)
        self._active: tuple[int, int] | None = None  # (epoch, position base) while iterating
        self._list_iter: Iterator[Any] | None = None
        self._list_end = 0
        self._done = 0

    # ----------------------------------------------------------------------------- subclass API
    @abstractmethod
    def _draw_epoch(self, epoch: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """The global index sequence of ``epoch`` (1-D), or its batches (2-D, one per row)."""

    def _expected_units(self) -> int:
        """Global number of units of a typical epoch (used by ``__len__``)."""
        return self.num_samples

    def extra_repr(self) -> str:
        """The sampler's own arguments for ``repr`` (the engine adds seed and DDP placement)."""
        return f"num_samples={self.num_samples}"

    def __repr__(self) -> str:
        extra = self.extra_repr()
        return (
            f"{type(self).__name__}({extra + ', ' if extra else ''}seed={self.seed}, "
            f"num_replicas={self.num_replicas}, rank={self.rank})"
        )

    # ---------------------------------------------------------------------------------- epochs
    @property
    def epoch(self) -> int:
        """The epoch the next fresh iteration will use."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Pin the epoch of the following iterations (call it every epoch under DDP).

        Once called, iterations no longer advance the epoch by themselves. A resume point loaded
        with :meth:`load_state_dict` for a different epoch is discarded.
        """
        e = check_int(epoch, "epoch", minimum=0)
        assert e is not None
        self._epoch = e
        self._pinned = True
        if self._resume is not None and self._resume[0] != e:
            self._resume = None

    def global_indices(self, epoch: int | None = None) -> npt.NDArray[np.int64]:
        """The global sequence of ``epoch`` (default: the next epoch), before sharding."""
        e = self._epoch if epoch is None else check_int(epoch, "epoch", minimum=0)
        assert e is not None
        return np.asarray(self._draw_epoch(e, make_rng(self.seed, e)), dtype=np.int64)

    def _shard(self, sequence: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        n = int(sequence.shape[0])
        replicas = self.num_replicas
        if replicas == 1:
            return sequence
        if self.drop_last:
            total = (n // replicas) * replicas
            sequence = sequence[:total]
        else:
            total = math.ceil(n / replicas) * replicas
            if total > n:
                if n == 0:
                    return sequence
                pad = np.resize(np.arange(n), total - n)
                sequence = np.concatenate([sequence, sequence[pad]])
        return sequence[self.rank : total : replicas]

    def rank_indices(self, epoch: int | None = None) -> npt.NDArray[np.int64]:
        """This rank's shard of ``epoch`` (default: the next epoch)."""
        return self._shard(self.global_indices(epoch))

    def _per_rank(self, n: int) -> int:
        if self.num_replicas == 1:
            return n
        if self.drop_last:
            return n // self.num_replicas
        return math.ceil(n / self.num_replicas)

    def __len__(self) -> int:
        return self._per_rank(self._expected_units())

    # ------------------------------------------------------------------------------- iteration
    def _start(self) -> tuple[int, int]:
        if self._resume is not None:
            epoch, offset = self._resume
            self._resume = None
        else:
            epoch, offset = self._epoch, 0
        if not self._pinned:
            self._epoch = epoch + 1
        return epoch, offset

    def _iterate(self, batch_size: int | None = None, drop_last: bool = False) -> Iterator[Any]:
        if batch_size is None:
            # The items of each chunk are served by a list iterator chained in C, so that
            # ``list(sampler)`` and the DataLoader's ``next()`` calls do not resume a Python frame
            # per item; the generator below only runs once per chunk.
            return itertools.chain.from_iterable(self._chunk_iterators())
        return self._batch_lists(batch_size, drop_last)

    def _begin(self) -> tuple[npt.NDArray[np.int64], int]:
        """Start an iteration: this rank's shard of its epoch and the position to resume from."""
        epoch, offset = self._start()
        shard = self._shard(self.global_indices(epoch))
        self._active = (epoch, offset)
        self._done = offset
        return shard, offset

    def _chunk_iterators(self) -> Iterator[Iterator[Any]]:
        shard, offset = self._begin()
        n = int(shard.shape[0])
        try:
            for start in range(offset, n, _CHUNK):
                chunk = shard[start : start + _CHUNK].tolist()
                self._list_end = start + len(chunk)
                self._list_iter = iter(chunk)
                yield self._list_iter
        finally:
            if self._list_iter is not None:  # stopped early: keep the count for state_dict()
                self._done = self._yielded()
                self._list_iter = None
        self._done = n
        self._active = None

    def _batch_lists(self, batch_size: int, drop_last: bool) -> Iterator[list[Any]]:
        shard, offset = self._begin()
        n = int(shard.shape[0])
        step = max(batch_size, (_CHUNK // batch_size) * batch_size)
        stop = n - (n - offset) % batch_size if drop_last else n
        for start in range(offset, stop, step):
            chunk = shard[start : min(start + step, stop)].tolist()
            for j in range(0, len(chunk), batch_size):
                self._done = start + min(j + batch_size, len(chunk))
                yield chunk[j : j + batch_size]
        self._done = n
        self._active = None

    def __iter__(self) -> Iterator[T_co]:
        return self._iterate()

    def batches(self, batch_size: int, *, drop_last: bool = False) -> IndexBatchSampler:
        """This sampler as a batch sampler yielding lists of ``batch_size`` indices.

        The lists are cut from vectorized chunks, so ``DataLoader(dataset,
        batch_sampler=sampler.batches(128))`` with a dataset that implements ``__getitems__``
        fetches each batch in one call. Iteration, epochs and resume state are shared with this
        sampler.
        """
        return IndexBatchSampler(self, batch_size, drop_last=drop_last)

    # --------------------------------------------------------------------------------- resume
    def _yielded(self) -> int:
        if self._list_iter is not None:
            return self._list_end - operator.length_hint(self._list_iter)
        return self._done

    def state_dict(self) -> dict[str, Any]:
        """Where iteration stands: ``{"epoch", "yielded", ...}`` (JSON-serialisable).

        ``yielded`` counts this rank's units already yielded in ``epoch``; between iterations it
        is 0 and ``epoch`` is the next epoch to run.

        The count is of what the sampler has *handed out*, which is what the training loop has
        consumed only when nothing reads ahead:

        * ``DataLoader(..., num_workers=0)``: exact, each batch's indices are taken when the
          batch is built;
        * ``torchdata.stateful_dataloader.StatefulDataLoader``, any ``num_workers``: exact, use
          ``loader.state_dict()`` (it stores this state as of the last batch it returned);
        * ``DataLoader(..., num_workers=N)`` with ``N > 0``: *ahead* by the batches prefetched
          for the workers, ``N * prefetch_factor`` of them (fewer near the end of the epoch);
          resuming from it would skip them. Use ``StatefulDataLoader``, or set
          ``state["yielded"]`` to the samples this rank has consumed in the epoch
          (``batches_done * batch_size``) before saving.

        The sampler cannot tell these cases apart (its iterator runs in the main process in all
        of them), so no warning is given.
        """
        if self._active is not None:
            epoch, yielded = self._active[0], self._yielded()
        elif self._resume is not None:
            epoch, yielded = self._resume
        else:
            epoch, yielded = self._epoch, 0
        return {
            "version": _STATE_VERSION,
            "sampler": type(self).__name__,
            "epoch": epoch,
            "yielded": yielded,
            "pinned": self._pinned,
            "seed": self.seed,
            "num_replicas": self.num_replicas,
            "rank": self.rank,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`: the next iteration continues where it stopped.

        Every field is checked (type, range, and that the state comes from a sampler of the same
        class, seed and number of replicas); a state that fails is rejected whole. ``rank`` is
        not compared: every rank advances in step, so one rank's state resumes any rank.

        Raises:
            TypeError: ``state_dict`` is not a dict.
            ValueError: a key is missing or unknown, a value has the wrong type or range,
                ``yielded`` is past the end of the epoch, or the state was saved by a different
                kind of sampler or with a different seed or number of replicas.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"`state_dict` should be a dict from state_dict(), but got "
                f"{type(state_dict).__name__}."
            )
        mine = type(self).__name__
        version = (
            _state_field(state_dict, "version", check_int, minimum=1, maximum=_STATE_VERSION)
            if "version" in state_dict
            else _STATE_VERSION  # reported below with the other missing keys
        )
        expected = set(_STATE_KEYS) - ({"sampler"} if version == 1 else set())
        missing, unknown = expected - set(state_dict), set(state_dict) - expected
        if missing or unknown:
            problem = f"lacks the keys {sorted(missing)}" if missing else ""
            problem += " and " if missing and unknown else ""
            problem += f"has the unknown keys {sorted(unknown)}" if unknown else ""
            raise ValueError(
                f"`state_dict` should come from {mine}.state_dict(), but it {problem}."
            )
        kind = state_dict.get("sampler", mine)
        if kind != mine:
            raise ValueError(
                f"`state_dict` should come from {mine}.state_dict(), but it was saved by "
                f"sampler={kind!r}. Load it into the kind of sampler that saved it."
            )
        for key, ours, low in (("seed", self.seed, 0), ("num_replicas", self.num_replicas, 1)):
            theirs = _state_field(state_dict, key, check_int, minimum=low)
            if theirs != ours:
                raise ValueError(
                    f"`state_dict` was saved with {key}={theirs}, but this sampler has "
                    f"{key}={ours}; resuming would yield a different sequence. Build the "
                    f"sampler with {key}={theirs}."
                )
        _state_field(state_dict, "rank", check_int, minimum=0, maximum=self.num_replicas - 1)
        pinned = _state_field(state_dict, "pinned", check_bool)
        epoch = _state_field(state_dict, "epoch", check_int, minimum=0)
        # The epoch's length on this rank: the state must point inside it (or at its end).
        length = int(self._shard(self.global_indices(epoch)).shape[0])
        yielded = _state_field(
            state_dict,
            "yielded",
            check_int,
            minimum=0,
            maximum=length,
            hint=f"Epoch {epoch} has {length} items on this rank: a larger count points past "
            "its end.",
        )
        self._pinned = pinned
        self._epoch = epoch
        self._resume = (epoch, yielded) if yielded > 0 else None
        self._active = None


def _state_field(state: dict[str, Any], key: str, check: Any, **limits: Any) -> Any:
    """``state[key]`` checked with ``check``; a wrong type is a ValueError (a bad state dict)."""
    name = f"state_dict[{key!r}]"
    try:
        return check(state[key], name, **limits)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


class IndexBatchSampler(Sampler[list[int]]):
    """Batches of an :class:`EpochSampler`'s indices, cut from vectorized chunks.

    Created by :meth:`EpochSampler.batches`. Under DDP each rank batches its own shard. Resume
    state is the underlying sampler's (counted in samples).
    """

    def __init__(self, sampler: EpochSampler[Any], batch_size: int, *, drop_last: bool = False):
        if not isinstance(sampler, EpochSampler) or sampler._yields_batches:
            raise TypeError(
                "`sampler` should be a balancers sampler that yields indices, but got "
                f"{type(sampler).__name__}."
            )
        size = check_int(batch_size, "batch_size", minimum=1)
        assert size is not None
        self.sampler = sampler
        self.batch_size = size
        self.drop_last = check_bool(drop_last, "drop_last")

    def __iter__(self) -> Iterator[list[int]]:
        return self.sampler._iterate(self.batch_size, self.drop_last)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state_dict)
