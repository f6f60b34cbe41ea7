"""balancers.streams with real components: webdataset shards written with TarWriter and read with
WebDataset (node and worker splitting), Hugging Face streaming Parquet with split_dataset_by_node
and its state_dict, torchdata's StatefulDataLoader, gloo DDP, and ``balancers describe
--webdataset``."""

from __future__ import annotations

import gc
import io
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch.distributed as dist
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset

from balancers.cli import main as cli_main
from balancers.streams import BalancedStream, mix_streams
from balancers.streams._count import read_webdataset_labels
from tests._harness import run_ddp

wds = pytest.importorskip("webdataset")
datasets = pytest.importorskip("datasets")
pytest.importorskip("torchdata")

# webdataset 1.0 leaves each shard's file open after reading it (its StreamingOpen never closes
# the stream); the handles are collected after every test here, under this filter.
pytestmark = [
    pytest.mark.filterwarnings(r"ignore:unclosed file <_io.BufferedReader name='.*\.tar'>"),
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <_io.FileIO name='.*\.tar'"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]


@pytest.fixture(scope="module", autouse=True)
def _collect_open_shards() -> Iterator[None]:
    yield
    gc.collect()


N_ITEMS, N_SHARDS = 600, 6
SHARES = [0.5, 0.25, 0.15, 0.1]


def images_and_labels() -> tuple[np.ndarray, list[int]]:
    """600 28x28 uint8 images: MNIST train images when BALANCERS_TEST_DATA is set, else random
    pixels; labels drawn long-tailed over 4 classes."""
    rng = np.random.Generator(np.random.PCG64(0))
    labels = rng.choice(4, size=N_ITEMS, p=SHARES).tolist()
    root = os.environ.get("BALANCERS_TEST_DATA")
    idx = Path(root or "", "MNIST", "raw", "train-images-idx3-ubyte")
    if root and idx.is_file():  # the first images of the IDX file (16-byte header)
        pixels = np.fromfile(idx, dtype=np.uint8, count=N_ITEMS * 784, offset=16)
        return pixels.reshape(N_ITEMS, 28, 28), labels
    return rng.integers(0, 256, size=(N_ITEMS, 28, 28), dtype=np.uint8), labels


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[int]]:
    folder = tmp_path_factory.mktemp("shards")
    images, labels = images_and_labels()
    per = N_ITEMS // N_SHARDS
    for s in range(N_SHARDS):
        with wds.TarWriter(str(folder / f"part-{s:03d}.tar")) as sink:
            for i in range(s * per, (s + 1) * per):
                png = io.BytesIO()
                Image.fromarray(images[i]).save(png, format="PNG")
                sink.write({"__key__": f"{i:05d}", "png": png.getvalue(), "cls": labels[i]})
    return str(folder / f"part-{{000..{N_SHARDS - 1:03d}}}.tar"), labels


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("parquet")
    _, labels = images_and_labels()
    files = []
    for s in range(4):  # 4 files: 4 shards for nodes and workers to split
        rows = list(range(s * 150, (s + 1) * 150))
        table = pa.table({"idx": rows, "label": [labels[i] for i in rows]})
        files.append(str(folder / f"rows-{s}.parquet"))
        pq.write_table(table, files[-1])
    return files, labels


def key_of(item: dict[str, Any]) -> int:
    return int(item["__key__"])


def decode(item: dict[str, Any]) -> tuple[int, int, int]:
    """Decode the PNG (the work rejection skips) and keep (index, class, pixel sum)."""
    pixels = np.asarray(Image.open(io.BytesIO(item["png"])))
    return int(item["__key__"]), int(item["cls"]), int(pixels.sum())


# ------------------------------------------------------------------------------------ webdataset
def test_shard_labels_and_describe_cli(shards: tuple[str, list[int]], capsys: Any) -> None:
    pattern, labels = shards
    assert read_webdataset_labels(pattern, "cls", progress=False).tolist() == labels
    assert cli_main(["describe", "--webdataset", pattern, "--key", "cls", "--json"]) == 0
    out = capsys.readouterr().out
    counts = np.bincount(labels).tolist()
    assert f'"counts": [\n    {counts[0]},' in out and str(N_ITEMS) in out
    assert cli_main(["describe", "--webdataset", pattern, "--key", "png"]) == 2
    assert "not a class written as text; pass --key" in capsys.readouterr().err
    assert cli_main(["describe", "--webdataset", pattern, "--key", "txt"]) == 2
    assert "has no 'txt' field (`key`); its fields are 'cls', 'png'" in capsys.readouterr().err
    assert cli_main(["describe", "--webdataset", pattern.replace("part", "nope")]) == 2


@pytest.mark.parametrize("method", ["reject", "oversample"])
def test_webdataset_with_two_workers(shards: tuple[str, list[int]], method: str) -> None:
    pattern, labels = shards
    counts = dict(enumerate(np.bincount(labels).tolist()))

    def make(urls: Any) -> BalancedStream:
        source = wds.WebDataset(urls, shardshuffle=False, workersplitter=wds.split_by_worker)
        return BalancedStream(
            source, label="cls", method=method, class_counts=counts, seed=3, transform=decode
        )

    out = list(DataLoader(make(pattern), batch_size=None, num_workers=2))
    out = [tuple(int(v) for v in item) for item in out]
    assert all(labels[i] == c for i, c, _ in out)
    urls = wds.shardlists.expand_urls(pattern)
    for w in range(2):  # worker w reads shards w, w + 2, ...: replay it in-process
        mine = [item for item in out if (item[0] // 100) % 2 == w]
        assert mine == list(make(urls[w::2])._iterate(rank=0, worker=w))
    indices = [i for i, _, _ in out]
    if method == "reject":
        assert len(set(indices)) == len(indices) < N_ITEMS
    else:
        assert set(indices) == set(range(N_ITEMS))


# --------------------------------------------------------------------- Hugging Face + resume
def hf_stream(files: list[str], rank: int = 0, world: int = 1) -> Any:
    from datasets.distributed import split_dataset_by_node

    ds = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    return split_dataset_by_node(ds, rank=rank, world_size=world)


def interrupted(
    make: Any, workers: int, stop: int, make_dicts: bool = False
) -> tuple[list[Any], list[Any]]:
    """(uninterrupted, interrupted after ``stop`` batches then resumed) with StatefulDataLoader."""
    from torchdata.stateful_dataloader import StatefulDataLoader

    def loader(stream: Any) -> Any:
        return StatefulDataLoader(stream, batch_size=4, num_workers=workers)

    def flat(batches: Any) -> list[Any]:
        columns = (lambda b: (b["idx"], b["src"])) if make_dicts else (lambda b: b)
        return [tuple(map(int, row)) for b in batches for row in zip(*columns(b), strict=True)]

    full = flat(loader(make()))
    first = loader(make())
    iterator = iter(first)
    head = flat(itertools.islice(iterator, stop))
    state = first.state_dict()
    second = loader(make())
    second.load_state_dict(state)
    return full, head + flat(second)


def as_pair(row: dict[str, Any]) -> tuple[int, int]:
    return row["idx"], row["label"]


@pytest.mark.parametrize(("method", "workers"), [("reject", 0), ("oversample", 2)])
def test_hf_streaming_resumes_under_stateful_dataloader(
    parquet: tuple[list[str], list[int]], workers: int, method: str
) -> None:
    files, labels = parquet

    def make() -> BalancedStream:
        return BalancedStream(
            hf_stream(files), label="label", method=method, buffer_size=4, transform=as_pair
        )

    stop = int(np.random.Generator(np.random.PCG64(workers)).integers(3, 40))
    full, resumed = interrupted(make, workers, stop)
    assert resumed == full
    assert all(labels[i] == c for i, c in full)
    state = make()
    it = iter(state)
    next(it)
    assert state.state_dict()["source"] is not None  # the HF dataset's own state is saved


class Rows(IterableDataset[dict[str, int]]):
    """webdataset samples as ``{"idx", "src"}`` rows (a source without state_dict)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def __iter__(self) -> Iterator[dict[str, int]]:
        return ({"idx": key_of(d), "src": 0} for d in self.source)


@pytest.mark.parametrize("workers", [0, 2])
def test_sources_without_state_resume_by_replay(
    shards: tuple[str, list[int]], parquet: tuple[list[str], list[int]], workers: int
) -> None:
    pattern, _ = shards
    files, _ = parquet

    def make() -> Any:
        web = Rows(wds.WebDataset(pattern, shardshuffle=False))
        hf = hf_stream(files).map(lambda r: {"src": 1}, remove_columns=["label"])
        return mix_streams({"web": web, "hf": hf}, weights=[0.3, 0.7], seed=1)

    full, resumed = interrupted(make, workers, 25, make_dicts=True)
    assert resumed == full
    assert {i for i, s in full if s == 0} == set(range(N_ITEMS))  # all_exhausted: every item


# ----------------------------------------------------------------------------------------- DDP
def every_shard(urls: Any) -> Any:
    """A node splitter that keeps every shard (the replay is given this rank's shards)."""
    yield from urls


def ddp_webdataset(pattern: str, counts: dict[int, int]) -> list[tuple[int, int]]:
    source = wds.WebDataset(pattern, shardshuffle=False, nodesplitter=wds.split_by_node)
    stream = BalancedStream(source, label="cls", class_counts=counts, seed=2)
    stream.set_epoch(1)
    mine = [(key_of(d), int(d["cls"])) for d in stream]
    urls = wds.shardlists.expand_urls(pattern)
    rank, world = dist.get_rank(), dist.get_world_size()
    mine_only = wds.WebDataset(urls[rank::world], shardshuffle=False, nodesplitter=every_shard)
    replay = BalancedStream(mine_only, label="cls", class_counts=counts, seed=2)
    replay.set_epoch(1)
    assert mine == [(key_of(d), int(d["cls"])) for d in replay._iterate(rank=rank, worker=0)]
    return mine


def test_gloo_two_ranks_webdataset(shards: tuple[str, list[int]]) -> None:
    pattern, labels = shards
    counts = dict(enumerate(np.bincount(labels).tolist()))
    ranks = run_ddp(2, ddp_webdataset, pattern, counts)
    keys = [k for r in ranks for k, _ in r]
    assert len(keys) == len(set(keys))  # no item on two ranks
    assert all((k // 100) % 2 == r for r, out in enumerate(ranks) for k, _ in out)


def ddp_hf(files: list[str]) -> list[tuple[int, int]]:
    rank, world = dist.get_rank(), dist.get_world_size()
    stream = BalancedStream(
        hf_stream(files, rank, world), label="label", method="oversample", transform=as_pair, seed=4
    )
    return list(stream)


def test_gloo_three_ranks_hf(parquet: tuple[list[str], list[int]]) -> None:
    files, labels = parquet
    ranks = run_ddp(3, ddp_hf, files)
    assert all(labels[i] == c for out in ranks for i, c in out)
    firsts = [sorted({i for i, _ in out}) for out in ranks]
    everything = sorted(i for f in firsts for i in f)
    assert everything == list(range(N_ITEMS))  # each item on exactly one rank, none dropped
    shares = np.bincount([c for out in ranks for _, c in out], minlength=4)
    assert shares.min() / shares.max() > 0.6  # balanced from 5:1
