"""``materialize``: write a (resampled, augmented) dataset to disk as PNG files plus a manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from torch.utils.data import DataLoader, Dataset, Subset

from .._labels import Labels, check_labels
from .._validation import check_bool, check_choice, check_int, check_seed, describe_value
from ._dataset import AugmentedDataset, AugmentMode, check_dataset
from ._images import to_pil
from ._pipelines import describe_transform

__all__ = ["MANIFEST_NAME", "MaterializeResult", "materialize"]

#: name of the manifest file written in ``out_dir``
MANIFEST_NAME = "manifest.json"
_FORMAT = "balancers.materialize/1"
_TMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class MaterializeResult:
    """What :func:`materialize` did.

    Attributes:
        root: the output folder.
        manifest: path of the JSON manifest.
        total: number of files the job holds.
        written: files written by this call (``total - written`` were already there).
        augmented: number of augmented files in the job.
    """

    root: Path
    manifest: Path
    total: int
    written: int
    augmented: int


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_TMP_SUFFIX}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(_TMP_SUFFIX)


def _base_dataset(dataset: Any) -> Any:
    while isinstance(dataset, Subset | AugmentedDataset):
        dataset = dataset.dataset
    return dataset


def _sanitize(name: str) -> str:
    out = name.replace("/", "_").replace("\\", "_").replace("\0", "_").strip()
    if out.startswith("."):
        out = "_" + out
    return out


def _class_names(labels: Labels, dataset: Any) -> list[str]:
    """Folder (multiclass) or column (multilabel) names, ordered like ``labels.classes``."""
    classes = labels.classes
    given = getattr(_base_dataset(dataset), "classes", None)
    names: list[str] | None = None
    is_int = np.issubdtype(classes.dtype, np.integer)
    if isinstance(given, Sequence) and all(isinstance(c, str) for c in given):
        if labels.is_multilabel and len(given) == labels.n_classes:
            names = list(given)
        elif is_int and classes.min() >= 0 and classes.max() < len(given):
            names = [given[int(c)] for c in classes]
    if names is None:
        if is_int:
            width = max(len(str(int(c))) for c in classes)
            names = [
                (f"label_{int(c)}" if labels.is_multilabel else str(int(c)).zfill(width))
                for c in classes
            ]
        else:
            names = [str(c) for c in classes]
    clean = [_sanitize(n) for n in names]
    if len(set(clean)) != len(clean) or any(n in ("", "_.", "_..") for n in clean):
        width = len(str(len(clean) - 1))
        clean = [f"class_{i:0{width}d}" for i in range(len(clean))]
    return clean


def _sha256(*arrays: npt.NDArray[Any]) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
        digest.update(str(arr.dtype).encode())
    return digest.hexdigest()


def _labels_digest(labels: Labels) -> str:
    if labels.matrix is not None:
        m = labels.matrix
        return _sha256(np.asarray(m.indptr, np.int64), np.asarray(m.indices, np.int64))
    assert labels.codes is not None
    return _sha256(labels.codes, np.asarray([str(c) for c in labels.classes.tolist()]))


def _plan(
    aug: AugmentedDataset, labels: Labels, names: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """The job description (compared on resume) and the relative path of every file."""
    n = len(aug)
    width = len(str(n - 1))
    stems = [f"{k:0{width}d}.png" for k in range(n)]
    if labels.is_multilabel:
        layout = "flat"
        paths = [f"images/{s}" for s in stems]
    else:
        layout = "imagefolder"
        assert labels.codes is not None
        folder = [names[c] for c in labels.codes.tolist()]
        paths = [f"{d}/{s}" for d, s in zip(folder, stems, strict=True)]
    base = _base_dataset(aug.dataset)
    job = {
        "format": _FORMAT,
        "layout": layout,
        "kind": labels.kind,
        "source": {"type": type(base).__name__, "n_samples": len(aug.dataset)},
        "labels_sha256": _labels_digest(check_labels(aug.source_labels(), "labels")),
        "indices_sha256": _sha256(aug.indices),
        "seed": aug.seed,
        "epoch": aug.epoch,
        "augment": aug.augment,
        "transform": describe_transform(aug.transform),
        "classes": names,
        "class_ids": [c if isinstance(c, str) else int(c) for c in labels.classes.tolist()],
    }
    return json.loads(json.dumps(job)), paths


def _files_table(aug: AugmentedDataset, labels: Labels, paths: list[str]) -> list[dict[str, Any]]:
    index = aug.indices.tolist()
    augmented = aug.augmented.tolist()
    if labels.is_multilabel:
        assert labels.matrix is not None
        m = labels.matrix
        targets: list[Any] = [
            m.indices[m.indptr[k] : m.indptr[k + 1]].tolist() for k in range(len(aug))
        ]
        key = "labels"
    else:
        assert labels.codes is not None
        targets = labels.codes.tolist()
        key = "class"
    return [
        {"file": p, "index": i, "augmented": a, key: t}
        for p, i, a, t in zip(paths, index, augmented, targets, strict=True)
    ]


def _labels_csv(labels: Labels, names: list[str], paths: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", *names])
    dense = labels.dense()
    for path, row in zip(paths, dense.tolist(), strict=True):
        writer.writerow([path, *row])
    return buffer.getvalue().encode()


class _Writer(Dataset[int]):
    """Decodes, augments, encodes and atomically writes one file per item (runs in workers)."""

    def __init__(
        self, aug: AugmentedDataset, root: Path, paths: list[str], todo: npt.NDArray[np.int64]
    ) -> None:
        self.aug = aug
        self.root = root
        self.paths = paths
        self.todo = todo

    def __len__(self) -> int:
        return int(self.todo.shape[0])

    def __getitem__(self, j: int) -> int:
        k = int(self.todo[j])
        item = self.aug.get(k, post=False)
        image = item[0] if isinstance(item, tuple | list) else item
        final = self.root / self.paths[k]
        tmp = final.with_name(f".{final.name}.{os.getpid()}{_TMP_SUFFIX}")
        to_pil(image).save(tmp, format="PNG")
        os.replace(tmp, final)
        return k


def _existing(root: Path, folders: list[str]) -> set[str]:
    """Relative paths of finished files; removes temporary files left by an interrupted run."""
    found: set[str] = set()
    for folder in folders:
        directory = root / folder
        if not directory.is_dir():
            continue
        with os.scandir(directory) as entries:
            for entry in entries:
                if _is_temp(entry.name):
                    os.unlink(entry.path)
                elif entry.is_file():
                    found.add(f"{folder}/{entry.name}")
    return found


def _check_out_dir(root: Path, job: dict[str, Any]) -> None:
    manifest = root / MANIFEST_NAME
    if manifest.is_file():
        try:
            previous = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"The manifest {str(manifest)!r} cannot be read ({exc}); remove `out_dir` "
                "or choose another one."
            ) from exc
        differing = [key for key in job if previous.get("job", {}).get(key) != job[key]]
        if differing:
            raise ValueError(
                f"`out_dir` {str(root)!r} holds another materialize job (different "
                f"{', '.join(differing)}); re-run with the same arguments to finish it, or "
                "choose an empty `out_dir`."
            )
        return
    leftovers = [e for e in os.listdir(root) if not _is_temp(e)]
    if leftovers:
        raise ValueError(
            f"`out_dir` {str(root)!r} should be empty or hold an unfinished materialize job, "
            f"but it holds {len(leftovers)} other entries (e.g. {leftovers[0]!r}) and no "
            f"{MANIFEST_NAME}. Choose an empty or new folder."
        )


def materialize(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    *,
    indices: Any = None,
    transform: Callable[..., Any] | None = None,
    seed: int | None = 0,
    progress: bool = True,
    augment: AugmentMode = "repeats",
    num_workers: int = 0,
) -> MaterializeResult:
    """Write a dataset, resampled and augmented, to PNG files plus a JSON manifest.

    Multiclass data becomes an ``ImageFolder`` tree, ``out_dir/<class name>/<k>.png``; multilabel
    data a flat folder ``out_dir/images/<k>.png`` plus ``out_dir/labels.csv`` (one 0/1 column per
    label). ``k`` is the item's position in ``indices`` (zero-padded). ``out_dir/manifest.json``
    holds the job (seed, epoch, pipeline, hashes of the labels and indices) and, for every file,
    its source index, whether it is augmented, and its class or labels. Class folders are named
    after the dataset's ``classes`` when it has them, else after the (zero-padded) class ids.

    Guarantees:

    * every file is written under a temporary name and renamed into place, so a file with its
      final name is complete;
    * running the same call again after an interruption (Ctrl-C, SIGKILL, a crash) removes the
      temporary files and writes only the missing ones: nothing duplicated, partial or missing;
    * the pixels are those of ``AugmentedDataset(dataset, indices, transform, augment=augment,
      seed=seed)`` at epoch 0 (or of ``dataset``'s current epoch when it is an
      ``AugmentedDataset``), with any number of workers;
    * the dataset's own ``transform`` is not applied: files hold images, not normalised tensors.

    Args:
        dataset: a map-style dataset of ``(image, target)`` items, or an
            :class:`AugmentedDataset` (then leave ``indices`` and ``transform`` None).
        out_dir: output folder; created if missing; must be empty or hold this same job.
        indices: positions into ``dataset`` (repeats allowed, e.g. from ``random_oversample``);
            default every item once.
        transform: albumentations pipeline for the augmented items; None writes the images as
            they are.
        seed: seed of the augmentations.
        progress: show a tqdm progress bar.
        augment: which items are augmented when ``transform`` is given: ``"repeats"`` (every
            occurrence of an index after its first), ``"all"`` or ``"none"``.
        num_workers: DataLoader worker processes that decode, augment and write in parallel.

    Returns:
        A :class:`MaterializeResult`.

    Raises:
        TypeError: an argument has the wrong type (see :class:`AugmentedDataset`).
        ValueError: bad ``indices``/``augment``; ``out_dir`` holds something else or a different
            job.

    Example:
        >>> import tempfile, numpy as np, torch
        >>> from torch.utils.data import TensorDataset
        >>> ds = TensorDataset(torch.zeros(3, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 1]))
        >>> out = tempfile.mkdtemp() + "/out"
        >>> result = materialize(ds, out, indices=[0, 0, 1, 2], progress=False)
        >>> result.total, sorted(p.name for p in result.root.iterdir())
        (4, ['0', '1', 'manifest.json'])
    """
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(
            f"`out_dir` should be a folder path, but got out_dir={describe_value(out_dir)} of "
            f"type {type(out_dir).__name__}."
        )
    check_bool(progress, "progress")
    workers = check_int(num_workers, "num_workers", minimum=0)
    assert workers is not None
    if isinstance(dataset, AugmentedDataset) and indices is None and transform is None:
        aug = dataset
    else:
        n = check_dataset(dataset)
        idx = np.arange(n, dtype=np.int64) if indices is None else indices
        mode = check_choice(augment, "augment", ("repeats", "all", "none"))
        aug = AugmentedDataset(
            dataset,
            idx,
            transform,
            augment="none" if transform is None else mode,  # type: ignore[arg-type]
            seed=check_seed(seed),
        )
    labels = check_labels(aug.targets, "labels")
    names = _class_names(labels, aug.dataset)
    job, paths = _plan(aug, labels, names)

    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    _check_out_dir(root, job)
    manifest_path = root / MANIFEST_NAME
    files = _files_table(aug, labels, paths)

    def write_manifest(complete: bool) -> None:
        body = {"job": job, "complete": complete, "total": len(paths), "files": files}
        _atomic_write_bytes(manifest_path, json.dumps(body, indent=1).encode())

    for entry in os.listdir(root):
        if _is_temp(entry):
            os.unlink(root / entry)
    write_manifest(False)
    folders = sorted({p.rsplit("/", 1)[0] for p in paths})
    for folder in folders:
        (root / folder).mkdir(exist_ok=True)
    if labels.is_multilabel:
        _atomic_write_bytes(root / "labels.csv", _labels_csv(labels, names, paths))
    done = _existing(root, folders)
    todo = np.asarray([k for k, p in enumerate(paths) if p not in done], dtype=np.int64)

    if todo.size:
        writer = _Writer(aug, root, paths, todo)
        loader = DataLoader(writer, batch_size=None, shuffle=False, num_workers=workers)
        from tqdm.auto import tqdm

        with tqdm(
            total=len(paths),
            initial=len(paths) - int(todo.size),
            unit="file",
            desc="Materializing",
            disable=not progress,
        ) as bar:
            for _ in loader:
                bar.update(1)
    write_manifest(True)
    return MaterializeResult(
        root=root,
        manifest=manifest_path,
        total=len(paths),
        written=int(todo.size),
        augmented=int(aug.augmented.sum()),
    )
