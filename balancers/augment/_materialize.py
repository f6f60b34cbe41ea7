"""``materialize``: write a (resampled, augmented) dataset to disk as PNG files plus a manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import warnings
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
from ._jobfolder import LOCK_NAME, MANIFEST_NAME, JobFolder, check_out_dir
from ._pipelines import describe_transform
from ._seeding import AUGMENT_STREAM

__all__ = ["MANIFEST_NAME", "MaterializeResult", "materialize"]

_FORMAT = "balancers.materialize/2"
#: Names a class folder cannot take: the job's own files.
_RESERVED = frozenset({MANIFEST_NAME, "labels.csv", LOCK_NAME})
#: What the job keys mean, for the message about a different job.
_KEY_NAMES = {
    "transform": "pipeline",
    "stream": "augmentation stream version",
    "labels_sha256": "labels",
    "indices_sha256": "indices",
}


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
    # names equal but for case would share a folder on case-insensitive file systems
    unique = {n.casefold() for n in clean}
    if len(unique) != len(clean) or any(n in ("", "_.", "_..") for n in clean):
        width = len(str(len(clean) - 1))
        clean = [f"class_{i:0{width}d}" for i in range(len(clean))]
    return clean


def _check_folder_names(names: list[str], root: Path) -> None:
    """Reject class folder names that collide with the job's own files or that the file system
    cannot hold, before anything is written."""
    try:
        limit = os.pathconf(_existing_parent(root), "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no limit known
        limit = 255
    for name in names:
        if name in _RESERVED:
            raise ValueError(
                f"The class {name!r} would be written to a folder named like the job's own "
                f"{name!r} file. Rename the class (e.g. set the dataset's `classes`) and run again."
            )
        if len(name.encode("utf-8", "surrogateescape")) > limit:
            raise ValueError(
                f"The class name {name[:40]!r}... is {len(name.encode())} bytes long, more than "
                f"the {limit} bytes the file system allows in a folder name. Shorten the class "
                "names (e.g. set the dataset's `classes`) and run again."
            )


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


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
        "stream": AUGMENT_STREAM,
        "versions": _versions(),
    }
    return json.loads(json.dumps(job)), paths


def _versions() -> dict[str, str]:
    """The versions that decide the pixels: balancers and albumentations."""
    import albumentations

    from .. import __version__

    return {"balancers": __version__, "albumentations": albumentations.__version__}


def _differences(previous: dict[str, Any], job: dict[str, Any]) -> list[str]:
    """What differs between the job recorded in a folder and ``job``, in words."""
    found = []
    for key, value in job.items():
        old = previous.get(key)
        if old == value:
            continue
        if key == "versions" and isinstance(old, dict):
            for lib, version in value.items():
                if old.get(lib) != version:
                    found.append(f"{lib} version ({old.get(lib)} in the folder, {version} now)")
        elif isinstance(value, int | str) and not key.endswith("sha256"):
            shown = "none recorded" if old is None else repr(old)
            found.append(f"{_KEY_NAMES.get(key, key)} ({shown} in the folder, {value!r} now)")
        else:
            found.append(_KEY_NAMES.get(key, key))
    return found


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


class _Writer(Dataset[tuple[int, int, str]]):
    """Decodes, augments, encodes and atomically writes one file per item (runs in workers);
    returns ``(k, size, sha256)``."""

    def __init__(
        self,
        aug: AugmentedDataset,
        folder: JobFolder,
        paths: list[str],
        todo: npt.NDArray[np.int64],
    ) -> None:
        self.aug = aug
        self.folder = folder
        self.paths = paths
        self.todo = todo

    def __len__(self) -> int:
        return int(self.todo.shape[0])

    def __getitem__(self, j: int) -> tuple[int, int, str]:
        k = int(self.todo[j])
        item = self.aug.get(k, post=False)
        image = item[0] if isinstance(item, tuple | list) else item
        buffer = io.BytesIO()
        to_pil(image).save(buffer, format="PNG")
        return (k, *self.folder.write(self.paths[k], buffer.getvalue()))


def _check_job(folder: JobFolder, previous: dict[str, Any], job: dict[str, Any]) -> None:
    differing = _differences(previous.get("job", {}), job)
    if differing:
        raise ValueError(
            f"`out_dir` {str(folder.root)!r} holds another materialize job (different "
            f"{'; '.join(differing)}). Finish it with the same arguments and versions, choose a "
            "new `out_dir`, or pass restart=True (CLI: --restart) to delete that job's files "
            "and start over."
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
    restart: bool = False,
) -> MaterializeResult:
    """Write a dataset, resampled and augmented, to PNG files plus a JSON manifest.

    Multiclass data becomes an ``ImageFolder`` tree, ``out_dir/<class name>/<k>.png``; multilabel
    data a flat folder ``out_dir/images/<k>.png`` plus ``out_dir/labels.csv`` (one 0/1 column per
    label). ``k`` is the item's position in ``indices`` (zero-padded). ``out_dir/manifest.json``
    holds the job (seed, epoch, pipeline, hashes of the labels and indices, the augmentation
    stream version and the balancers and albumentations versions) and, for every file, its source
    index, whether it is augmented, its class or labels, and its size and SHA-256. Class folders
    are named after the dataset's ``classes`` when it has them, else after the (zero-padded)
    class ids.

    Guarantees:

    * every file is written under a temporary name, fsynced and renamed into place, and is
      recorded with its size and SHA-256; on resume every file is checked against its record
      and written again when it does not match (a warning says how many);
    * running the same call again after an interruption (Ctrl-C, SIGKILL, a crash) removes the
      temporary files and writes only the missing ones: nothing duplicated, partial or missing;
    * the folder is claimed atomically by the first job (``manifest.json`` is created with an
      atomic link): another job started on it at the same moment, or later, fails with a
      ValueError that names what differs. Two runs of the same job at once do not disturb each
      other: the second waits for the first (an ``flock`` on ``out_dir/.materialize.lock``,
      released by the operating system when a process ends, so it is never stale), then finds
      its files done. This is what DDP ranks that all materialize to shared storage get;
    * nothing is written through a symlink or outside ``out_dir``; class names that collide
      with the job's own files or are too long for the file system are refused before anything
      is written;
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
        restart: when ``out_dir`` holds a different job, delete that job's files (those its
            manifest lists, its manifest and journal) and start this one.

    Returns:
        A :class:`MaterializeResult`.

    Raises:
        TypeError: an argument has the wrong type (see :class:`AugmentedDataset`).
        ValueError: bad ``indices``/``augment``; ``out_dir`` is a file or under one, holds
            something else or a different job (other arguments, pipeline, augmentation stream
            or library versions); a symlink in the job's folders; a class name that collides
            with the job's files or is too long.

    Example:
        >>> import tempfile, numpy as np, torch
        >>> from torch.utils.data import TensorDataset
        >>> ds = TensorDataset(torch.zeros(3, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 1]))
        >>> out = tempfile.mkdtemp() + "/out"
        >>> result = materialize(ds, out, indices=[0, 0, 1, 2], progress=False)
        >>> result.total, sorted(p.name for p in result.root.iterdir())
        (4, ['.materialize.lock', '0', '1', 'manifest.json'])
    """
    if not isinstance(out_dir, str | os.PathLike):
        raise TypeError(
            f"`out_dir` should be a folder path, but got out_dir={describe_value(out_dir)} of "
            f"type {type(out_dir).__name__}."
        )
    check_bool(progress, "progress")
    check_bool(restart, "restart")
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
    root = Path(out_dir)
    check_out_dir(root)
    if not labels.is_multilabel:
        _check_folder_names(names, root)
    job, paths = _plan(aug, labels, names)
    files = _files_table(aug, labels, paths)

    root.mkdir(parents=True, exist_ok=True)
    folder = JobFolder(root)
    claim = {"job": job, "complete": False, "total": len(paths), "files": files}
    previous = folder.claim(claim)
    if previous is not None and _differences(previous.get("job", {}), job) and restart:
        with folder.locked():  # waits for a run of that job to finish
            previous = folder.read_manifest()
            if previous is not None:
                folder.remove_job(previous)
        previous = folder.claim(claim)
    if previous is not None:
        _check_job(folder, previous, job)

    with folder.locked():
        written = _write_files(aug, folder, labels, names, paths, job, files, workers, progress)
    return MaterializeResult(
        root=root,
        manifest=folder.manifest,
        total=len(paths),
        written=written,
        augmented=int(aug.augmented.sum()),
    )


def _write_files(
    aug: AugmentedDataset,
    folder: JobFolder,
    labels: Labels,
    names: list[str],
    paths: list[str],
    job: dict[str, Any],
    files: list[dict[str, Any]],
    workers: int,
    progress: bool,
) -> int:
    """Check what is there, write what is missing or does not match; return how many files
    were written (the caller holds the folder's lock)."""
    folders = sorted({p.rsplit("/", 1)[0] for p in paths})
    folder.prepare(folders)
    if labels.is_multilabel:
        folder.write("labels.csv", _labels_csv(labels, names, paths))
    recorded = folder.recorded(folder.read_manifest())
    ok = folder.verified(paths, recorded)
    changed = sum(1 for p, good in zip(paths, ok, strict=True) if p in recorded and not good)
    if changed:
        warnings.warn(
            f"{changed} files in {str(folder.root)!r} did not match their recorded size and "
            "SHA-256 (truncated, changed or removed); they are written again.",
            UserWarning,
            stacklevel=3,
        )
    todo = np.flatnonzero(~np.asarray(ok, dtype=np.bool_)).astype(np.int64)
    sums = {p: recorded[p] for p, good in zip(paths, ok, strict=True) if good}
    if todo.size:
        writer = _Writer(aug, folder, paths, todo)
        loader = DataLoader(writer, batch_size=None, shuffle=False, num_workers=workers)
        from tqdm.auto import tqdm

        with (
            tqdm(
                total=len(paths),
                initial=len(paths) - int(todo.size),
                unit="file",
                desc="Materializing",
                disable=not progress,
            ) as bar,
            folder.journal_lines() as journal,
        ):
            for k, size, sha in loader:
                sums[paths[k]] = (size, sha)
                journal.write(json.dumps({"file": paths[k], "size": size, "sha256": sha}) + "\n")
                journal.flush()
                bar.update(1)
    for entry in files:
        entry["size"], entry["sha256"] = sums[entry["file"]]
    body = {"job": job, "complete": True, "total": len(paths), "files": files}
    folder.finish(body, folders)
    return int(todo.size)
