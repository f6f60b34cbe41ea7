"""Class labels of stored streams, read without decoding any image.

* webdataset shards: only the members whose extension is the label key (``.cls``) are read;
  the image members are skipped inside the tar stream;
* Parquet and Arrow files (Hugging Face's cache files are Arrow streams): only the label column
  is read, record batch by record batch.

Both show a tqdm progress bar per shard or file and return the labels in stream order, ready for
``balancers.describe`` (whose counts can be passed to ``BalancedStream(class_counts=...)``).
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

__all__ = ["read_table_labels", "read_webdataset_labels", "shard_urls"]


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
                yield normalize_class(handle.read(), 0)
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


def _arrow_batches(path: Path, column: str) -> Iterator[Any]:
    pa = import_optional("pyarrow", extra="streams")
    if path.suffix.lower() == ".parquet":
        pq = import_optional("pyarrow.parquet", extra="streams")
        pfile = pq.ParquetFile(path)
        names = pfile.schema_arrow.names
        if column not in names:
            raise ValueError(_no_column(path, column, names))
        yield from pfile.iter_batches(columns=[column])
        return
    with open(path, "rb") as fh:
        try:
            reader = pa.ipc.open_stream(fh)
        except pa.ArrowInvalid:
            fh.seek(0)
            reader = pa.ipc.open_file(fh)
            names = reader.schema.names
            if column not in names:
                raise ValueError(_no_column(path, column, names)) from None
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i).select([column])
            return
        names = reader.schema.names
        if column not in names:
            raise ValueError(_no_column(path, column, names))
        for batch in reader:
            yield batch.select([column])


def _no_column(path: Path, column: str, names: list[str]) -> str:
    return f"{path} has no column {column!r} (`column`); its columns are {', '.join(names)}."


def read_table_labels(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    column: str,
    *,
    progress: bool = True,
) -> npt.NDArray[Any]:
    """The values of one column of Parquet or Arrow files, reading only that column.

    Args:
        paths: ``.parquet`` files, or Arrow IPC files (``.arrow``, Hugging Face cache files).
        column: the label column (integer or string class ids).
        progress: show a progress bar over the files.

    Raises:
        FileNotFoundError: a file does not exist.
        ValueError: the column is missing or holds lists (multilabel columns: use
            ``balancers.get_labels``).
    """
    files = [Path(paths)] if isinstance(paths, (str, os.PathLike)) else [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist.")
    parts = []
    for path in _progress(files, "reading files", progress):
        for batch in _arrow_batches(path, column):
            values = batch.column(0)
            if "list" in str(values.type):
                raise ValueError(
                    f"column {column!r} of {path} holds lists ({values.type}); count a "
                    "multilabel column with balancers.get_labels."
                )
            parts.append(values.to_numpy(zero_copy_only=False))
    if not parts:
        raise ValueError(f"column {column!r} of {files[0]} holds no value.")
    return np.concatenate(parts)
