"""Class labels of webdataset shards, read without decoding any image.

Only the members whose extension is the label key (``.cls``) are read; the image members are
skipped inside the tar stream. A tqdm progress bar runs over the shards, and the labels come back
in stream order, ready for ``balancers.describe`` (whose counts can be passed to
``BalancedStream(class_counts=...)``). Parquet and CSV label columns are read by
``balancers describe FILE --column NAME``.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._optional import import_optional
from ._labels import normalize_class

__all__ = ["read_webdataset_labels", "shard_urls", "webdataset_labels_for_cli"]


def shard_urls(spec: str | Sequence[str]) -> list[str]:
    """Shard paths from a brace pattern (``"shards-{000..009}.tar"``) or a list of them."""
    shardlists = import_optional("webdataset.shardlists", extra="streams")
    specs = [spec] if isinstance(spec, str) else list(spec)
    urls = [u for s in specs for u in shardlists.expand_urls(s)]
    if not urls:
        raise ValueError(f"`shards` should name at least one shard, but {spec!r} names none.")
    return urls


def _progress(items: Sequence[Any], desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="file", disable=not enabled or len(items) < 2)


def _split_name(name: str) -> tuple[str, str]:
    """webdataset's rule: the sample key is the path up to the first dot of the file name."""
    folder, base = os.path.split(name)
    stem, dot, ext = base.partition(".")
    return os.path.join(folder, stem), ext if dot else ""


def _tar_labels(url: str, key: str) -> Iterator[Any]:
    current: str | None = None
    found = False
    fields: list[str] = []
    with tarfile.open(url, mode="r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            sample, ext = _split_name(member.name)
            if sample != current:
                if current is not None and not found:
                    raise ValueError(_missing(url, current, key, fields))
                current, found, fields = sample, False, []
            fields.append(ext)
            if ext == key:
                handle = tar.extractfile(member)
                assert handle is not None
                found = True
                try:
                    yield normalize_class(handle.read(), 0)
                except ValueError:
                    raise ValueError(
                        f"the {key!r} field (`key`) of sample {sample!r} of {url} is not a "
                        "class written as text; pass --key as the label field (such as cls)."
                    ) from None
    if current is not None and not found:
        raise ValueError(_missing(url, current, key, fields))


def _missing(url: str, sample: str, key: str, fields: list[str]) -> str:
    return (
        f"sample {sample!r} of {url} has no {key!r} field (`key`); its fields are "
        f"{', '.join(repr(f) for f in fields)}. Pass --key as one of them."
    )


def read_webdataset_labels(
    shards: str | Sequence[str], key: str = "cls", *, progress: bool = True
) -> npt.NDArray[Any]:
    """The label of every sample of webdataset tar shards, in order, reading only ``.key``.

    Args:
        shards: a brace pattern (``"shards-{000..009}.tar"``) or a list of paths.
        key: the extension of the label member (``"cls"`` for ``000123.cls``).
        progress: show a progress bar over the shards.

    Raises:
        FileNotFoundError: a shard does not exist.
        ValueError: a sample lacks the key (the message names its fields).
    """
    labels: list[Any] = []
    urls = shard_urls(shards)
    for url in urls:
        if not Path(url).is_file():
            raise FileNotFoundError(f"webdataset shard {url} does not exist.")
    for url in _progress(urls, "reading shards", progress):
        labels.extend(_tar_labels(url, key))
    if not labels:
        raise ValueError(f"the shards {urls[0]}... hold no sample.")
    return np.asarray(labels)


def webdataset_labels_for_cli(
    shards: str, key: str | None, *, others: dict[str, Any]
) -> tuple[npt.NDArray[Any], str]:
    """``balancers describe --webdataset SHARDS [--key KEY]``: the labels and a source name.

    Raises:
        ValueError: another label source is given too (``others``: option name -> value).
    """
    given = [name for name, value in others.items() if value is not None]
    if given:
        raise ValueError(
            f"--webdataset reads labels from shards; it cannot be combined with {given[0]}."
        )
    key = key or "cls"
    return read_webdataset_labels(shards, key), f"{shards} [.{key}]"
