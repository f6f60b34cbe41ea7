"""Class balancing and source mixing for streams: data with no indices.

:class:`BalancedStream` makes the classes of any iterable (a webdataset, a Hugging Face streaming
dataset, an ``IterableDataset``, a list) follow a target distribution, by rejection or by
oversampling from bounded per-class buffers; :func:`mix_streams` interleaves several sources
with given weights or by temperature over their sizes. Both are deterministic per
``(seed, epoch, rank, worker)``, correct under DataLoader workers and DDP (the sources do the
splitting), and resumable with ``state_dict()`` / ``load_state_dict()``.
:func:`read_webdataset_labels` reads the class of every sample of webdataset shards without
decoding any image (``balancers describe --webdataset``), for ``class_counts``.
"""

from ._balanced import BalancedStream
from ._count import read_webdataset_labels
from ._mix import MixedStream, mix_streams

__all__ = ["BalancedStream", "MixedStream", "mix_streams", "read_webdataset_labels"]
