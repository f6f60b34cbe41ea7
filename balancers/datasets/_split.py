"""Long-tailed train / validation / test splits and their JSON manifests."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from torch.utils.data import Dataset, Subset

from .._labels import Labels
from .._validation import check_choice, check_int, check_seed, describe_value
from ._indices import SELECTIONS, Selection, balanced_indices, check_multiclass, long_tail_indices
from ._profiles import Profile, check_profile_args, long_tail_counts

__all__ = ["LongTailSplit", "SplitParams", "labels_sha256", "long_tail_split"]

MANIFEST_FORMAT = "balancers.long_tail_split"
MANIFEST_VERSION = 1
SPLITS: tuple[str, ...] = ("train", "val", "test")

TestPerClass = int | Literal["min"] | None


@dataclass(frozen=True)
class SplitParams:
    """The validated parameters of a long-tailed split (stored in the manifest)."""

    imbalance_ratio: float
    profile: str
    n_max: int | None
    val_per_class: int
    test_per_class: int | str | None
    seed: int
    selection: str
    minority_fraction: float

    @classmethod
    def check(
        cls,
        *,
        imbalance_ratio: Any,
        profile: Any,
        n_max: Any,
        val_per_class: Any,
        test_per_class: Any,
        seed: Any,
        selection: Any,
        minority_fraction: Any,
    ) -> SplitParams:
        """Validate every parameter up front (wrong type: TypeError, wrong value: ValueError)."""
        n_max_c = check_int(n_max, "n_max", minimum=1, allow_none=True)
        _, _, ratio, profile_s, fraction = check_profile_args(
            n_max_c or 1, 1, imbalance_ratio, profile, minority_fraction
        )
        val = check_int(val_per_class, "val_per_class", minimum=0)
        assert val is not None
        test: int | str | None
        if isinstance(test_per_class, str):
            if test_per_class != "min":
                raise ValueError(
                    "`test_per_class` should be 'min', a positive integer or None (the whole test "
                    f"set), but got test_per_class={test_per_class!r}."
                )
            test = test_per_class
        else:
            test = check_int(
                test_per_class,
                "test_per_class",
                minimum=1,
                allow_none=True,
                hint="Or pass 'min' (the smallest test class) or None (the whole test set).",
            )
        seed_c = check_seed(seed)
        if seed_c is None:
            raise TypeError(
                "`seed` should be a non-negative integer for a split, but got seed=None. A split "
                "is meant to be reproduced: pick a seed (0 is the usual one)."
            )
        selection_s = check_choice(selection, "selection", SELECTIONS)
        if selection_s == "ldam" and seed_c >= 2**32:
            raise ValueError(
                f"`seed` should be below 2**32 for selection='ldam' (numpy's RandomState), but "
                f"got seed={seed_c}."
            )
        return cls(ratio, profile_s, n_max_c, val, test, seed_c, selection_s, fraction)


def labels_sha256(labels: Any) -> str:
    """SHA-256 of a label sequence in a canonical byte form (hex digest).

    Integer class ids hash as little-endian int64, other ids as their UTF-8 text, one per line;
    the number of samples is part of the hash. Equal labels give equal digests on any machine.

    Example:
        >>> labels_sha256([1, 0, 2]) == labels_sha256(np.array([1, 0, 2], dtype=np.uint8))
        True
    """
    info = check_multiclass(labels, "labels")
    return _sha256(info)


def _sha256(info: Labels) -> str:
    assert info.codes is not None
    values = info.classes[info.codes]
    digest = hashlib.sha256()
    if np.issubdtype(values.dtype, np.integer):
        digest.update(f"int64;{values.shape[0]}\n".encode())
        digest.update(np.ascontiguousarray(values, dtype="<i8").tobytes())
    else:
        digest.update(f"text;{values.shape[0]}\n".encode())
        digest.update("\n".join(str(v) for v in values.tolist()).encode("utf-8"))
    return digest.hexdigest()


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file: ``0o666`` less the process umask (0o644 for 022)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def default_n_max(info: Labels, params: SplitParams) -> int:
    """``n_max`` when not given: the smallest class count (``len // C`` for ``"ldam"``).

    ``val_per_class`` is subtracted so that every class can also fill the validation set.
    """
    if params.n_max is not None:
        return params.n_max
    base = (
        info.n_samples // info.n_classes if params.selection == "ldam" else int(info.counts.min())
    )
    n_max = base - params.val_per_class
    if n_max < 1:
        raise ValueError(
            f"`val_per_class` should leave training samples in every class, but got "
            f"val_per_class={params.val_per_class} while the smallest class has {base}. "
            "Lower val_per_class."
        )
    return n_max


def train_val_indices(
    info: Labels, params: SplitParams
) -> tuple[list[int], npt.NDArray[np.int64], npt.NDArray[np.int64] | None]:
    """The long-tailed counts, the kept training indices and the validation indices."""
    n_max = default_n_max(info, params)
    counts = long_tail_counts(
        n_max,
        info.n_classes,
        params.imbalance_ratio,
        params.profile,  # type: ignore[arg-type]
        minority_fraction=params.minority_fraction,
    )
    short = np.flatnonzero(np.asarray(counts) > info.counts)
    if short.size:
        i = int(short[0])
        raise ValueError(
            f"`n_max` should leave every class enough samples for the profile, but got "
            f"n_max={n_max}: class {info.classes[i].item()!r} has {int(info.counts[i])} samples "
            f"and the profile asks for {counts[i]}. Lower n_max, or leave it as None (the "
            f"smallest class count, {int(info.counts.min())})."
        )
    kept = long_tail_indices(
        info,
        counts,
        seed=params.seed,
        selection=params.selection,  # type: ignore[arg-type]
    )
    if params.val_per_class == 0:
        return counts, kept, None
    assert info.codes is not None
    left = info.counts - np.asarray(counts, dtype=np.int64)
    smallest = int(np.argmin(left))
    if params.val_per_class > left[smallest]:
        raise ValueError(
            f"`val_per_class` should be at most {int(left[smallest])}, the training samples left "
            f"in class {info.classes[smallest].item()!r} after the long-tailed selection, but got "
            f"val_per_class={params.val_per_class}. Lower val_per_class, or lower n_max to leave "
            "more samples for validation."
        )
    val = balanced_indices(info, params.val_per_class, exclude=kept, seed=params.seed)
    if np.intersect1d(kept, val).size:  # guaranteed by construction; checked all the same
        raise RuntimeError("the validation set shares samples with the training set")
    return counts, kept, val


def test_indices(  # the indices of a test set, not a test
    info: Labels,
    params: SplitParams,
    used: npt.NDArray[np.bool_] | None = None,  # noqa: PT028
) -> npt.NDArray[np.int64]:
    """The balanced test indices (all of them for ``test_per_class=None``).

    ``used``: test samples that are also training or validation samples (train and test are the
    same data); the test set is drawn from the others only.
    """
    free = np.ones(info.n_samples, dtype=bool) if used is None else ~used
    if params.test_per_class is None:
        return np.flatnonzero(free).astype(np.int64)
    assert info.codes is not None
    left = np.bincount(info.codes[free], minlength=info.n_classes)
    i = int(np.argmin(left))
    wanted = 1 if params.test_per_class == "min" else params.test_per_class
    assert isinstance(wanted, int)
    if wanted > left[i]:
        if used is not None:
            raise ValueError(_same_data_message(info, params, left, i, wanted))
        raise ValueError(
            f"`test_per_class` should be at most the smallest test class count ({int(left[i])}, "
            f"class {info.classes[i].item()!r}), but got "
            f"test_per_class={params.test_per_class}. Pass 'min' or None (whole test set)."
        )
    per_class: int | Literal["min"] = wanted if params.test_per_class != "min" else "min"
    return balanced_indices(info, per_class, exclude=used, seed=params.seed)


def _same_data_message(
    info: Labels, params: SplitParams, left: npt.NDArray[np.int64], i: int, wanted: int
) -> str:
    """Why a test set drawn from the train data's unused samples cannot be filled, and the fix."""
    room = (int(info.counts.min()) - params.val_per_class) // 2
    return (
        f"`test` is the same data as `train`, so the test set is drawn only from the samples "
        f"that the long-tailed train set and the validation set do not use; class "
        f"{info.classes[i].item()!r} has {int(left[i])} of its {int(info.counts[i])} samples "
        f"left, but test_per_class={params.test_per_class!r} needs {wanted}. Leave room with a "
        f"smaller head class, e.g. long_tail_split(ds, ds, n_max={max(room, 1)}, ...), lower "
        "val_per_class or test_per_class, or pass a separate test set."
    )


def _root(dataset: Dataset[Any]) -> tuple[Any, npt.NDArray[np.int64]]:
    """The dataset under any ``Subset`` wrappers and the index in it of each position."""
    index: npt.NDArray[np.int64] | None = None
    while isinstance(dataset, Subset):
        inner = dataset.dataset
        step = np.asarray(dataset.indices, dtype=np.int64) % len(inner)  # type: ignore[arg-type]
        index = step if index is None else step[index]
        dataset = inner
    if index is None:
        index = np.arange(len(dataset), dtype=np.int64)  # type: ignore[arg-type]
    return dataset, index


def _same_files(a: Any, b: Any) -> bool:
    """Two folder datasets (``ImageFolder``, ``DatasetFolder``) listing the same files."""
    files_a, files_b = getattr(a, "samples", None), getattr(b, "samples", None)
    return isinstance(files_a, list) and len(files_a) > 0 and files_a == files_b


def shared_with_test(
    train: Dataset[Any], test: Dataset[Any], used: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_] | None:
    """Which test samples are the training samples ``used`` (positions in ``train``).

    None when ``train`` and ``test`` are different data. They are the same data when, under any
    ``Subset`` wrappers, they are the same dataset object or folder datasets of the same files.
    """
    train_root, train_index = _root(train)
    test_root, test_index = _root(test)
    if train_root is not test_root and not _same_files(train_root, test_root):
        return None
    return np.isin(test_index, train_index[used])


def check_same_classes(train: Labels, test: Labels) -> None:
    """A test set must have exactly the training set's classes (counts are shown per class)."""
    if np.array_equal(train.classes, test.classes):
        return
    train_set, test_set = set(train.classes.tolist()), set(test.classes.tolist())
    parts = []
    if train_set - test_set:
        parts.append(f"missing from test: {sorted(train_set - test_set, key=repr)[:10]}")
    if test_set - train_set:
        parts.append(f"not in train: {sorted(test_set - train_set, key=repr)[:10]}")
    detail = "; ".join(parts) or (
        f"train has {train.classes.dtype} class ids, test {test.classes.dtype}"
    )
    raise ValueError(
        f"`test` should have the same classes as `train`, but they differ ({detail}). Pass the "
        "test set of the same task, with the same class ids."
    )


def _check_dataset(value: Any, name: str) -> Dataset[Any]:
    if not isinstance(value, Dataset) or not hasattr(value, "__len__"):
        raise TypeError(
            f"`{name}` should be a map-style torch Dataset (with __len__), but got "
            f"{describe_value(value)} of type {type(value).__name__}. Wrap arrays in "
            "torch.utils.data.TensorDataset."
        )
    return value


class LongTailSplit:
    """A long-tailed training set with a balanced validation and test set.

    Built by :func:`long_tail_split` or read back with :meth:`load`.

    Attributes:
        train: the long-tailed training subset (``torch.utils.data.Subset``).
        val: the balanced validation subset of the training source, or None.
        test: the balanced test subset, or None when no test set was given.
        counts: training samples per class (sorted class order).
        classes: the class ids, sorted.
        parameters: the parameters the split was made with.
        checksums: SHA-256 of the source labels, ``{"train": ..., "test": ...}``.
        train_indices, val_indices, test_indices: the indices into the source datasets.
    """

    def __init__(
        self,
        train_source: Dataset[Any],
        test_source: Dataset[Any] | None,
        *,
        train_indices: npt.NDArray[np.int64],
        val_indices: npt.NDArray[np.int64] | None,
        test_indices: npt.NDArray[np.int64] | None,
        classes: list[Any],
        class_counts: dict[str, list[int] | None],
        parameters: dict[str, Any],
        checksums: dict[str, str | None],
        sizes: dict[str, int | None],
    ) -> None:
        self.train_indices = train_indices
        self.val_indices = val_indices
        self.test_indices = test_indices
        self.train: Subset[Any] = Subset(train_source, train_indices.tolist())
        self.val: Subset[Any] | None = (
            None if val_indices is None else Subset(train_source, val_indices.tolist())
        )
        self.test: Subset[Any] | None = (
            None
            if test_source is None or test_indices is None
            else Subset(test_source, test_indices.tolist())
        )
        self.classes = classes
        self.class_counts = class_counts
        self.parameters = parameters
        self.checksums = checksums
        self.sizes = sizes

    @property
    def counts(self) -> list[int]:
        """Training samples per class, sorted class order."""
        counts = self.class_counts["train"]
        assert counts is not None
        return counts

    def __repr__(self) -> str:
        parts = [f"train={len(self.train)}"]
        if self.val is not None:
            parts.append(f"val={len(self.val)}")
        if self.test is not None:
            parts.append(f"test={len(self.test)}")
        p = self.parameters
        return (
            f"LongTailSplit({', '.join(parts)}, imbalance_ratio={p['imbalance_ratio']:g}, "
            f"profile={p['profile']!r}, seed={p['seed']}, selection={p['selection']!r})"
        )

    def manifest(self) -> dict[str, Any]:
        """The JSON-ready manifest (what :meth:`save` writes)."""
        from .. import __version__

        def as_list(a: npt.NDArray[np.int64] | None) -> list[int] | None:
            return None if a is None else a.tolist()

        return {
            "format": MANIFEST_FORMAT,
            "format_version": MANIFEST_VERSION,
            "balancers_version": __version__,
            "parameters": self.parameters,
            "classes": self.classes,
            "counts": self.class_counts,
            "source": {
                name: None
                if self.checksums[name] is None
                else {"n_samples": self.sizes[name], "labels_sha256": self.checksums[name]}
                for name in ("train", "test")
            },
            "indices": {
                "train": as_list(self.train_indices),
                "val": as_list(self.val_indices),
                "test": as_list(self.test_indices),
            },
        }

    @staticmethod
    def file_name(
        source: str, profile: str, imbalance_ratio: float, seed: int, selection: str = "random"
    ) -> str:
        """The standard manifest file name, e.g. ``mnist-lt-exp100-seed0.json``.

        Example:
            >>> LongTailSplit.file_name("cifar10", "exp", 100.0, 0, "ldam")
            'cifar10-lt-exp100-seed0-ldam.json'
        """
        suffix = "" if selection == "random" else f"-{selection}"
        return f"{source}-lt-{profile}{imbalance_ratio:g}-seed{seed}{suffix}.json"

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the manifest as JSON, atomically (a temporary file renamed into place).

        A ``path`` that ends with a separator or is an existing folder is a folder: the file in
        it gets the standard name of :meth:`file_name` (the source named by its class, e.g.
        ``mnist-lt-exp100-seed0.json`` for torchvision's ``MNIST``). Missing parent folders are
        created. The file gets the usual permissions of a new file (``0o666`` less the umask).
        Returns the path written.
        """
        target = Path(path)
        if os.fspath(path).endswith(("/", os.sep)) or target.is_dir():
            p = self.parameters
            source = type(self.train.dataset).__name__.lower()
            target = target / self.file_name(
                source, p["profile"], p["imbalance_ratio"], p["seed"], p["selection"]
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.manifest(), separators=(",", ":")) + "\n"
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, _new_file_mode())  # mkstemp makes 0o600 files
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        train: Dataset[Any],
        test: Dataset[Any] | None = None,
    ) -> LongTailSplit:
        """Read a manifest and apply it to ``train`` (and ``test``).

        The SHA-256 of each dataset's labels must equal the one in the manifest, so a manifest
        is never applied to other data by mistake.

        Raises:
            ValueError: not a manifest, checksum or size mismatch, a test set missing or extra,
                train and validation sharing an index.
        """
        with open(path, encoding="utf-8") as fh:
            try:
                data = json.load(fh)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"{os.fspath(path)!r} is not a JSON manifest: {exc}") from exc
        if not isinstance(data, Mapping) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(
                f"{os.fspath(path)!r} is not a balancers long-tail manifest (no "
                f"'format': {MANIFEST_FORMAT!r})."
            )
        if data.get("format_version") != MANIFEST_VERSION:
            raise ValueError(
                f"{os.fspath(path)!r} has manifest format version {data.get('format_version')!r}; "
                f"this balancers reads version {MANIFEST_VERSION}. Upgrade balancers."
            )
        train = _check_dataset(train, "train")
        _check_manifest_layout(data, os.fspath(path))
        sources = {"train": train, "test": test}
        infos: dict[str, Labels | None] = {}
        checksums: dict[str, str | None] = {}
        sizes: dict[str, int | None] = {}
        for name in ("train", "test"):
            recorded = data["source"].get(name)
            given = sources[name]
            if recorded is None and given is not None:
                raise ValueError(
                    f"`{name}` was given but the manifest {os.fspath(path)!r} has no {name} split; "
                    f"call load(path, train) without {name}."
                )
            if recorded is not None and given is None:
                raise ValueError(
                    f"the manifest {os.fspath(path)!r} includes a {name} split: pass the {name} "
                    f"dataset it was made from (load(path, train, {name}))."
                )
            if given is None:
                infos[name], checksums[name], sizes[name] = None, None, None
                continue
            info = check_multiclass(_check_dataset(given, name), name)
            digest = _sha256(info)
            if info.n_samples != recorded["n_samples"] or digest != recorded["labels_sha256"]:
                raise ValueError(
                    f"`{name}` does not match the manifest {os.fspath(path)!r}: the manifest was "
                    f"made from {recorded['n_samples']} samples with labels SHA-256 "
                    f"{recorded['labels_sha256'][:16]}..., but got {info.n_samples} samples with "
                    f"SHA-256 {digest[:16]}.... Apply it to the dataset it was made from."
                )
            infos[name], checksums[name], sizes[name] = info, digest, info.n_samples
        indices: dict[str, npt.NDArray[np.int64] | None] = {}
        for name in SPLITS:
            raw = data["indices"].get(name)
            source_name = "test" if name == "test" else "train"
            source_info = infos[source_name]
            if raw is None or source_info is None:
                indices[name] = None
                continue
            arr = _manifest_indices(raw, name, source_info.n_samples, source_name, os.fspath(path))
            if np.unique(arr).size != arr.size:
                raise ValueError(f"the manifest's {name} indices contain duplicates.")
            indices[name] = arr
        train_idx = indices["train"]
        assert train_idx is not None
        val_idx = indices["val"]
        if val_idx is not None and np.intersect1d(train_idx, val_idx).size:
            raise ValueError(
                f"the manifest {os.fspath(path)!r} is invalid: its train and val indices overlap."
            )
        test_idx = indices["test"]
        if test is not None and test_idx is not None:
            used = train_idx if val_idx is None else np.concatenate([train_idx, val_idx])
            shared = shared_with_test(train, test, used)
            if shared is not None and shared[test_idx].any():
                raise ValueError(
                    f"the manifest {os.fspath(path)!r} puts training or validation samples in "
                    "the test set of the same data: it leaks. Make the split again with "
                    "long_tail_split and save it."
                )
        counts = {
            name: _class_counts(infos["test" if name == "test" else "train"], indices[name])
            for name in SPLITS
        }
        if counts != data["counts"]:
            raise ValueError(
                f"the manifest {os.fspath(path)!r} is inconsistent: its class counts differ from "
                "the counts of its indices."
            )
        train_info = infos["train"]
        assert train_info is not None
        return cls(
            train,
            test,
            train_indices=train_idx,
            val_indices=val_idx,
            test_indices=indices["test"],
            classes=train_info.classes.tolist(),
            class_counts=counts,
            parameters=dict(data["parameters"]),
            checksums=checksums,
            sizes=sizes,
        )


def _manifest_indices(
    raw: Any, name: str, n: int, source: str, where: str
) -> npt.NDArray[np.int64]:
    """A manifest's index list: JSON integers in ``[0, n)``, else a ValueError saying which."""
    problem = ""
    if not isinstance(raw, list):
        problem = f"is {type(raw).__name__}, not a list"
    else:
        for i, value in enumerate(raw):
            if type(value) is not int:
                problem = f"holds {describe_value(value)} at position {i}, not an integer"
                break
            if not 0 <= value < n:
                problem = (
                    f"holds {value} at position {i}, outside [0, {n}) for `{source}` of {n} samples"
                )
                break
    if problem:
        raise ValueError(
            f"the manifest {where!r} is damaged: its {name} index list {problem}. Write it "
            "again with save()."
        )
    return np.asarray(raw, dtype=np.int64).reshape(-1)


def _check_manifest_layout(data: Mapping[str, Any], where: str) -> None:
    """Check the manifest's structure so that a damaged file gives a clear ValueError."""
    problem = ""
    for key in ("parameters", "counts", "source", "indices"):
        if not isinstance(data.get(key), Mapping):
            problem = f"its {key!r} entry is missing or not an object"
            break
    else:
        if not isinstance(data.get("classes"), list):
            problem = "its 'classes' entry is missing or not a list"
        for name in ("train", "test"):
            recorded = data["source"].get(name)
            if recorded is not None and not (
                isinstance(recorded, Mapping)
                and isinstance(recorded.get("n_samples"), int)
                and isinstance(recorded.get("labels_sha256"), str)
            ):
                problem = f"its source {name!r} lacks n_samples or labels_sha256"
        if data["source"].get("train") is None or data["indices"].get("train") is None:
            problem = "it has no train split"
    if problem:
        raise ValueError(
            f"the manifest {where!r} is damaged: {problem}. Write it again with save()."
        )


def _class_counts(info: Labels | None, idx: npt.NDArray[np.int64] | None) -> list[int] | None:
    if info is None or idx is None:
        return None
    assert info.codes is not None
    counts: list[int] = np.bincount(info.codes[idx], minlength=info.n_classes).tolist()
    return counts


def long_tail_split(
    train: Dataset[Any],
    test: Dataset[Any] | None = None,
    *,
    imbalance_ratio: float = 100,
    profile: Profile = "exp",
    n_max: int | None = None,
    val_per_class: int = 0,
    test_per_class: TestPerClass = "min",
    seed: int = 0,
    selection: Selection = "random",
    minority_fraction: float = 0.5,
) -> LongTailSplit:
    """Build a long-tailed training set with a balanced validation and test set.

    The training counts follow :func:`long_tail_counts` (class order: sorted class ids, the
    first class is the head) and the samples are chosen with :func:`long_tail_indices`. The
    validation set takes ``val_per_class`` samples of every class among the training samples
    *not* kept; the test set is a balanced subset of ``test``.

    One dataset for everything (a single ``ImageFolder``): pass it as both ``train`` and
    ``test``. When they are the same data (the same object under any ``Subset`` wrappers, or
    folder datasets listing the same files), the test set is drawn only from the samples the
    train and validation sets left unused, so pick ``n_max`` below the smallest class count to
    leave room for it (the error says how much when there is none).

    Guarantees:

    * ``train`` and ``val`` share no sample (checked), and ``val`` and ``test`` are balanced;
    * when ``test`` is the same data as ``train``, ``test`` shares no sample with either;
    * ``test`` has exactly the classes of ``train`` (checked);
    * the same arguments give the same split on any machine;
    * the manifest written by :meth:`LongTailSplit.save` reproduces the split exactly and refuses
      other data (SHA-256 of the labels).

    Args:
        train: the (usually balanced) training dataset; labels are read with ``get_labels``.
        test: the test dataset, or None.
        imbalance_ratio: ``n_max / n_min`` (100 means 1:100), at least 1.
        profile: ``"exp"``, ``"step"`` or ``"linear"``.
        n_max: the head class size. Default: the smallest class count of ``train``
            (``len(train) // C`` for ``selection="ldam"``, as LDAM-DRW) minus ``val_per_class``,
            so that every class can be filled (MNIST's class 5 has 5421 images).
        val_per_class: validation samples per class (0: no validation set).
        test_per_class: test samples per class: ``"min"`` (smallest test class), an integer, or
            None for the whole test set.
        seed: the random seed (a non-negative integer).
        selection: ``"random"``, ``"first"`` or ``"ldam"`` (see :func:`long_tail_indices`).
        minority_fraction: for ``profile="step"``, the fraction of minority classes.

    Returns:
        A :class:`LongTailSplit`.

    Raises:
        TypeError: wrong argument types (``train`` not a Dataset, ...).
        ValueError: ``imbalance_ratio < 1``, an unknown profile or selection, ``n_max`` above
            what a class has, ``val_per_class`` or ``test_per_class`` above what is available
            (for the same data as train: what train and val left), train and test with
            different classes, multilabel labels.

    References:
        Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss",
        NeurIPS 2019. Buda et al., "A systematic study of the class imbalance problem in
        convolutional neural networks", Neural Networks 2018.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> y = torch.arange(4).repeat_interleave(50)
        >>> ds = TensorDataset(torch.zeros(200, 1), y)
        >>> split = long_tail_split(ds, ds, imbalance_ratio=10, n_max=30, val_per_class=5)
        >>> split.counts
        [30, 13, 6, 3]
        >>> len(split.val), len(split.test)  # test: 15 per class, from what train/val left
        (20, 60)
        >>> set(split.test_indices) & set(split.train_indices.tolist() + split.val_indices.tolist())
        set()
    """
    params = SplitParams.check(
        imbalance_ratio=imbalance_ratio,
        profile=profile,
        n_max=n_max,
        val_per_class=val_per_class,
        test_per_class=test_per_class,
        seed=seed,
        selection=selection,
        minority_fraction=minority_fraction,
    )
    train = _check_dataset(train, "train")
    if test is not None:
        test = _check_dataset(test, "test")
    train_info = check_multiclass(train, "train")
    counts, kept, val = train_val_indices(train_info, params)
    test_info = None if test is None else check_multiclass(test, "test")
    test_idx = None
    if test is not None and test_info is not None:
        check_same_classes(train_info, test_info)
        used = kept if val is None else np.concatenate([kept, val])
        test_idx = test_indices(test_info, params, shared_with_test(train, test, used))
    parameters = asdict(params)
    parameters["n_max"] = default_n_max(train_info, params)
    return LongTailSplit(
        train,
        test,
        train_indices=kept,
        val_indices=val,
        test_indices=test_idx,
        classes=train_info.classes.tolist(),
        class_counts={
            "train": counts,
            "val": _class_counts(train_info, val),
            "test": _class_counts(test_info, test_idx),
        },
        parameters=parameters,
        checksums={
            "train": _sha256(train_info),
            "test": None if test_info is None else _sha256(test_info),
        },
        sizes={
            "train": train_info.n_samples,
            "test": None if test_info is None else test_info.n_samples,
        },
    )
