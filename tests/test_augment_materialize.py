"""materialize: ImageFolder layout, manifest, resume after SIGKILL, workers, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, TensorDataset
from torchvision.datasets import ImageFolder

import balancers
from balancers.augment import AUGMENT_STREAM, AugmentedDataset, materialize

REPO = Path(__file__).resolve().parents[1]


class Shapes(Dataset[Any]):
    """Deterministic noise images with named classes; ``delay`` slows each item down."""

    classes = ("circle", "square", "triangle")

    def __init__(self, n: int = 12, delay: float = 0.0, size: int = 8) -> None:
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
        self.targets = [i % 3 if i < n // 2 else 0 for i in range(n)]
        self.delay = delay

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        if self.delay:
            time.sleep(self.delay)
        return Image.fromarray(self.data[i]), self.targets[i]


def pipeline() -> A.Compose:
    return A.Compose([A.Affine(rotate=(10, 30), p=1.0), A.RandomBrightnessContrast(p=1.0)])


def pngs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.png"))


def temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(".*.tmp"))


def check_complete(root: Path) -> dict[str, Any]:
    manifest = json.loads((root / "manifest.json").read_text())
    files = pngs(root)
    assert manifest["complete"] is True
    assert len(files) == manifest["total"] == len(manifest["files"])
    assert {str(p.relative_to(root)) for p in files} == {f["file"] for f in manifest["files"]}
    for p in files:
        with Image.open(p) as im:
            im.load()
    for entry in manifest["files"]:
        data = (root / entry["file"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert temporaries(root) == [] and not (root / ".materialize.journal").exists()
    return manifest


INDICES = [*range(12), 1, 1, 4, 7, 10, 10]


def test_imagefolder_tree_manifest_and_pixels(tmp_path: Path) -> None:
    ds = Shapes()
    out = tmp_path / "out"
    result = materialize(ds, out, indices=INDICES, transform=pipeline(), seed=3, progress=False)
    assert (result.total, result.written, result.augmented) == (18, 18, 6)
    manifest = check_complete(out)
    job = manifest["job"]
    assert job["layout"] == "imagefolder" and job["seed"] == 3 and job["epoch"] == 0
    assert job["classes"] == ["circle", "square", "triangle"]
    assert job["transform"]["transform"]["__class_fullname__"] == "Compose"
    assert job["stream"] == AUGMENT_STREAM == 2
    assert job["versions"] == {"balancers": balancers.__version__, "albumentations": A.__version__}
    entry = {k: v for k, v in manifest["files"][13].items() if k not in ("size", "sha256")}
    assert entry == {"file": "square/13.png", "index": 1, "augmented": True, "class": 1}

    folder = ImageFolder(str(out))
    assert folder.classes == ["circle", "square", "triangle"]
    labels = np.asarray(ds.targets)[INDICES]
    np.testing.assert_array_equal(np.bincount(folder.targets), np.bincount(labels))

    aug = AugmentedDataset(ds, INDICES, pipeline(), seed=3)
    for f in manifest["files"]:
        k = int(Path(f["file"]).stem)
        written = np.asarray(Image.open(out / f["file"]))
        np.testing.assert_array_equal(written, np.asarray(aug[k][0]))  # PNG is lossless
        if not f["augmented"]:
            np.testing.assert_array_equal(written, ds.data[f["index"]])
        else:
            assert not np.array_equal(written, ds.data[f["index"]])

    again = materialize(ds, out, indices=INDICES, transform=pipeline(), seed=3, progress=False)
    assert again.written == 0 and again.total == 18


def test_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    materialize(Shapes(6), tmp_path / "out")
    assert "Materializing" in capsys.readouterr().err


def test_class_ids_without_names_are_zero_padded_and_tensors_are_written(tmp_path: Path) -> None:
    targets = torch.tensor([0, 2, 10, 10, 2])
    images = torch.arange(5 * 3 * 4 * 4, dtype=torch.float32).reshape(5, 3, 4, 4) / 240.0
    out = tmp_path / "out"
    materialize(TensorDataset(images, targets), out, progress=False)
    manifest = check_complete(out)
    assert manifest["job"]["classes"] == ["00", "02", "10"]
    folder = ImageFolder(str(out))
    assert folder.classes == ["00", "02", "10"]
    assert np.bincount(folder.targets).tolist() == [1, 2, 2]
    written = np.asarray(Image.open(out / "10/2.png"))
    expected = np.rint(images[2].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(written, expected)


def test_multilabel_flat_folder_and_labels_csv(tmp_path: Path) -> None:
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.int8)
    images = torch.randint(0, 256, (4, 1, 6, 6), dtype=torch.uint8)
    out = tmp_path / "ml"
    result = materialize(
        TensorDataset(images, torch.from_numpy(y)),
        out,
        indices=[0, 1, 2, 3, 2, 2],
        transform=pipeline(),
        progress=False,
    )
    assert result.total == 6 and result.augmented == 2
    manifest = check_complete(out)
    assert manifest["job"]["layout"] == "flat"
    entry = {k: v for k, v in manifest["files"][4].items() if k not in ("size", "sha256")}
    assert entry == {"file": "images/4.png", "index": 2, "augmented": True, "labels": [2]}
    with open(out / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "label_0", "label_1", "label_2"]
    assert rows[1:] == [
        [f"images/{k}.png", *map(str, y[i])] for k, i in enumerate([0, 1, 2, 3, 2, 2])
    ]
    written = np.asarray(Image.open(out / "images/0.png"))
    np.testing.assert_array_equal(written, images[0, 0].numpy())


def test_resume_writes_only_missing_files_and_removes_temporaries(tmp_path: Path) -> None:
    ds = Shapes()
    out = tmp_path / "out"
    materialize(ds, out, indices=INDICES, transform=pipeline(), progress=False)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in pngs(out)}
    removed = [p for i, p in enumerate(sorted(before)) if i % 4 == 0]
    for p in removed:
        p.unlink()
    (out / "square" / ".13.png.999.tmp").write_bytes(b"\x89PNG partial")
    (out / ".manifest.json.999.tmp").write_text("{")
    with pytest.warns(UserWarning, match=f"{len(removed)} files .* did not match"):
        result = materialize(ds, out, indices=INDICES, transform=pipeline(), progress=False)
    assert result.written == len(removed)
    check_complete(out)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in pngs(out)}
    assert after == before


def test_same_files_with_0_and_2_workers(tmp_path: Path) -> None:
    ds = Shapes(24)
    idx = [*range(24), *range(0, 24, 3)]
    digests = []
    for workers in (0, 2):
        out = tmp_path / f"w{workers}"
        materialize(ds, out, indices=idx, transform=pipeline(), num_workers=workers, progress=False)
        check_complete(out)
        digests.append({str(p.relative_to(out)): p.read_bytes() for p in pngs(out)})
    assert digests[0] == digests[1]


def test_materialize_an_augmented_dataset_uses_its_epoch(tmp_path: Path) -> None:
    ds = Shapes()
    aug = AugmentedDataset(ds, INDICES, pipeline(), seed=1)
    aug.set_epoch(4)
    result = materialize(aug, tmp_path / "out", progress=False)
    manifest = check_complete(tmp_path / "out")
    assert manifest["job"]["epoch"] == 4 and result.augmented == 6
    written = np.asarray(Image.open(tmp_path / "out" / manifest["files"][15]["file"]))
    np.testing.assert_array_equal(written, np.asarray(aug[15][0]))


_KILL_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
from tests.test_augment_materialize import Shapes, pipeline, INDICES_BIG
from balancers.augment import materialize
materialize(Shapes(200, delay=0.002), {out!r}, indices=INDICES_BIG, transform=pipeline(),
            seed=5, progress=False, num_workers=int(sys.argv[1]))
"""

INDICES_BIG = [*range(200), *range(0, 200, 2)]


def test_sigkill_at_random_moments_then_resume_completes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = _KILL_SCRIPT.format(repo=str(REPO), out=str(out))
    rng = np.random.default_rng(7)
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script, str(attempt % 2)], cwd=REPO)
        try:
            deadline = time.monotonic() + 180
            while not (out / "manifest.json").exists():  # the job is claimed: it runs
                assert proc.poll() is None, "the materialize process ended before the kill"
                assert time.monotonic() < deadline, "no job started in time"
                time.sleep(0.01)
            time.sleep(float(rng.uniform(0.0, 1.0)))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not json.loads((out / "manifest.json").read_text())["complete"]
    n_before = len(pngs(out))
    assert n_before < 300

    result = materialize(
        Shapes(200), out, indices=INDICES_BIG, transform=pipeline(), seed=5, progress=False
    )
    assert result.written >= 300 - n_before
    manifest = check_complete(out)
    assert manifest["total"] == 300
    folder = ImageFolder(str(out))
    labels = np.asarray(Shapes(200).targets)[INDICES_BIG]
    np.testing.assert_array_equal(np.bincount(folder.targets), np.bincount(labels))
    # nothing lost, duplicated or partial: the files equal a clean run's, one for one
    clean = tmp_path / "clean"
    materialize(Shapes(200), clean, indices=INDICES_BIG, transform=pipeline(), seed=5,
                progress=False)  # fmt: skip
    assert sorted(p.relative_to(out) for p in pngs(out)) == sorted(
        p.relative_to(clean) for p in pngs(clean)
    )
    for p in pngs(clean):
        assert (out / p.relative_to(clean)).read_bytes() == p.read_bytes()


# -- bad input ---------------------------------------------------------------------------------
def test_out_dir_holding_something_else(tmp_path: Path) -> None:
    ds = Shapes()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"`out_dir` .* should be empty or hold an unfinished"):
        materialize(ds, tmp_path / "busy", progress=False)
    materialize(ds, tmp_path / "job", indices=INDICES, transform=pipeline(), progress=False)
    with pytest.raises(ValueError, match=r"holds another materialize job \(different seed \(0 in"):
        materialize(ds, tmp_path / "job", indices=INDICES, transform=pipeline(), seed=1,
                    progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=r"\(different indices\)"):
        materialize(ds, tmp_path / "job", transform=pipeline(), progress=False)
    (tmp_path / "job" / "manifest.json").write_text("{broken")
    with pytest.raises(ValueError, match="cannot be read"):
        materialize(ds, tmp_path / "job", indices=INDICES, transform=pipeline(), progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(out_dir=3), TypeError, "`out_dir` should be a folder path"),
        (dict(num_workers=-1), ValueError, "`num_workers` should be a non-negative integer"),
        (dict(progress="yes"), TypeError, "`progress` should be True or False"),
        (dict(indices=[0, 12]), ValueError, r"`indices` should be in \[0, 12\)"),
        (dict(transform=5), TypeError, "`transform` should be a callable"),
        (dict(augment="twice", transform=A.HorizontalFlip()), ValueError, "`augment` should be"),
        (dict(seed=-2), ValueError, "`seed` should be a non-negative integer"),
        (dict(dataset=[1, 2]), ValueError, "labels"),
        (dict(dataset="images"), TypeError, "`dataset` should be a map-style dataset"),
    ],
)
def test_bad_input(tmp_path: Path, kwargs: dict[str, Any], error: type, message: str) -> None:
    args: dict[str, Any] = {"dataset": Shapes(), "out_dir": tmp_path / "out", "progress": False}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        materialize(args.pop("dataset"), args.pop("out_dir"), **args)


# -- data integrity: versions, tampering, concurrency ------------------------------------------
def _edit_job(out: Path, **changes: Any) -> None:
    """Rewrite the job recorded in ``out`` (as a folder written by another install would be)."""
    manifest = json.loads((out / "manifest.json").read_text())
    for key, value in changes.items():
        if key == "albumentations":
            manifest["job"]["versions"]["albumentations"] = value
        elif value is None:
            del manifest["job"][key]
        else:
            manifest["job"][key] = value
    (out / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(stream=1), r"augmentation stream version \(1 in the folder, 2 now\)"),
        (dict(stream=None), r"augmentation stream version \(none recorded in the folder, 2 now"),
        (dict(albumentations="1.4.0"), r"albumentations version \(1\.4\.0 in the folder, "),
        (dict(transform="another pipeline"), r"\(different pipeline\)"),
    ],
)
def test_resume_of_a_job_from_another_stream_pipeline_or_version_is_a_clear_error(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    ds, out = Shapes(), tmp_path / "out"
    args: dict[str, Any] = dict(indices=INDICES, transform=pipeline(), seed=2, progress=False)
    materialize(ds, out, **args)
    want = {p: p.read_bytes() for p in pngs(out)}
    _edit_job(out, **change)
    with pytest.raises(ValueError, match=message) as e:
        materialize(ds, out, **args)
    assert "restart=True (CLI: --restart)" in str(e.value) and "new `out_dir`" in str(e.value)
    result = materialize(ds, out, **args, restart=True)
    assert result.written == 18
    check_complete(out)
    assert {p: p.read_bytes() for p in pngs(out)} == want


def test_restart_deletes_only_the_previous_jobs_files(tmp_path: Path) -> None:
    ds, out = Shapes(), tmp_path / "out"
    materialize(ds, out, indices=[*range(12), 0, 0], transform=pipeline(), progress=False)
    result = materialize(ds, out, indices=[0, 3, 6], progress=False, restart=True)
    assert result.written == 3
    manifest = check_complete(out)
    assert [f["file"] for f in manifest["files"]] == [f"circle/{k}.png" for k in range(3)]
    assert not (out / "square").exists() and not (out / "circle" / "12.png").exists()
    (out / "circle" / "notes.txt").write_text("mine")
    with pytest.raises(
        ValueError, match=r"should be empty .* holds 1 other entries \(e\.g\. 'circle'"
    ):
        materialize(ds, out, indices=[0, 1], progress=False, restart=True)
    assert (out / "circle" / "notes.txt").read_text() == "mine"


def test_truncated_or_changed_files_are_found_and_written_again(tmp_path: Path) -> None:
    ds, out = Shapes(), tmp_path / "out"
    args: dict[str, Any] = dict(indices=INDICES, transform=pipeline(), progress=False)
    materialize(ds, out, **args)
    want = {p: p.read_bytes() for p in pngs(out)}
    files = sorted(want)
    with open(files[3], "r+b") as f:
        f.truncate(10)
    files[5].write_bytes(want[files[4]])  # a complete PNG, but not this one
    with pytest.warns(UserWarning, match="2 files .* did not match their recorded size and SHA"):
        result = materialize(ds, out, **args)
    assert result.written == 2
    check_complete(out)
    assert {p: p.read_bytes() for p in pngs(out)} == want


def test_files_of_an_interrupted_job_are_checked_against_the_journal(tmp_path: Path) -> None:
    ds, out = Shapes(), tmp_path / "out"
    args: dict[str, Any] = dict(indices=INDICES, transform=pipeline(), progress=False)
    materialize(ds, out, **args)
    want = {p: p.read_bytes() for p in pngs(out)}
    # what an interrupted run leaves: the first manifest, a journal of some files, more files
    manifest = json.loads((out / "manifest.json").read_text())
    journal = [{k: f[k] for k in ("file", "size", "sha256")} for f in manifest["files"][:6]]
    for f in manifest["files"]:
        del f["size"], f["sha256"]
    manifest["complete"] = False
    (out / "manifest.json").write_text(json.dumps(manifest))
    lines = [json.dumps(entry) for entry in journal]
    (out / ".materialize.journal").write_text("\n".join(lines) + '\n{"file": "cir')  # cut line
    with open(out / journal[2]["file"], "r+b") as f:
        f.truncate(10)
    with pytest.warns(UserWarning, match="1 files"):
        result = materialize(ds, out, **args)
    assert result.written == 18 - 5  # the journal vouches for 5 files; the rest is rewritten
    check_complete(out)
    assert {p: p.read_bytes() for p in pngs(out)} == want


def test_symlinks_planted_in_the_job_are_refused(tmp_path: Path) -> None:
    ds, out, outside = Shapes(), tmp_path / "out", tmp_path / "outside"
    args: dict[str, Any] = dict(indices=INDICES, transform=pipeline(), progress=False)
    materialize(ds, out, **args)
    outside.mkdir()
    for p in (out / "square").iterdir():
        p.unlink()
    (out / "square").rmdir()
    (out / "square").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match=r"Refusing to write into .*square.*symlink"):
        materialize(ds, out, **args)
    assert list(outside.iterdir()) == []
    (out / "square").unlink()
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"precious")
    first = sorted((out / "circle").iterdir())[0]
    first.unlink()
    first.symlink_to(victim)
    with pytest.raises(ValueError, match=r"Refusing to use .*circle.*symlink"):
        materialize(ds, out, **args)
    assert victim.read_bytes() == b"precious"
    (out / "square").rmdir()  # made again (empty) by the refused run
    (out / "square").symlink_to(outside, target_is_directory=True)
    (outside / "13.png").write_bytes(b"not ours")  # restart deletes nothing through links
    with pytest.raises(ValueError, match=r"should be empty .* \(e\.g\. 'square'\)"):
        materialize(ds, out, **{**args, "seed": 9}, restart=True)
    assert [p.name for p in outside.iterdir()] == ["13.png"]
    assert victim.read_bytes() == b"precious"


class Named(Dataset[Any]):
    """Two images in classes with the given names."""

    def __init__(self, classes: list[str]) -> None:
        self.classes = classes
        self.targets = [0, 1]

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.full((4, 4), i, np.uint8), self.targets[i]


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        (["cat", "manifest.json"], r"class 'manifest\.json' would be written to a folder named"),
        (["cat", ".materialize.lock"], r"class '_\.materialize\.lock'|named like"),
        (["cat", "x" * 300], r"is 300 bytes long, more than the 255 bytes"),
    ],
)
def test_class_names_are_checked_before_anything_is_written(
    tmp_path: Path, classes: list[str], message: str
) -> None:
    out = tmp_path / "out"
    if classes[1].startswith("."):  # dot names are made visible ("_.name"): no collision
        materialize(Named(classes), out, progress=False)
        assert (out / "_.materialize.lock" / "1.png").is_file()
        return
    with pytest.raises(ValueError, match=message):
        materialize(Named(classes), out, progress=False)
    assert not out.exists()
    (out).mkdir()
    with pytest.raises(ValueError, match=message):
        materialize(Named(classes), out, progress=False)
    assert list(out.iterdir()) == []


def test_class_names_equal_but_for_case_get_numbered_folders(tmp_path: Path) -> None:
    materialize(Named(["Cat", "cat"]), tmp_path / "out", progress=False)
    manifest = check_complete(tmp_path / "out")
    assert manifest["job"]["classes"] == ["class_0", "class_1"]


def test_out_dir_that_is_a_file_or_under_a_file(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(ValueError, match=r"`out_dir` should be a folder .* is a file"):
        materialize(Shapes(), file, progress=False)
    with pytest.raises(ValueError, match=r"lies under .*file\.txt.*, which is a file"):
        materialize(Shapes(), file / "sub" / "out", progress=False)
    assert file.read_text() == "x"


_RACE_SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.test_augment_materialize import Shapes, pipeline, INDICES
from balancers.augment import materialize
me, barrier = sys.argv[1], Path({barrier!r})
(barrier / me).touch()
while len(list(barrier.iterdir())) < 2:  # both processes are ready: start together
    time.sleep(0.001)
try:
    result = materialize(Shapes(12, delay=0.01), {out!r}, indices=INDICES, transform=pipeline(),
                         seed=int(sys.argv[2]), progress=False)
    print("ok", result.written)
except ValueError as exc:
    print("refused", exc)
"""


def _race(tmp_path: Path, seeds: tuple[int, int], trial: int) -> tuple[list[str], Path]:
    out, barrier = tmp_path / f"out{trial}", tmp_path / f"barrier{trial}"
    barrier.mkdir()
    script = _RACE_SCRIPT.format(repo=str(REPO), barrier=str(barrier), out=str(out))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i), str(seed)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i, seed in enumerate(seeds)
    ]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    return outputs, out


@pytest.mark.slow
def test_concurrent_jobs_on_one_folder(tmp_path: Path) -> None:
    """Two different jobs started together: one wins, the other is refused, and the folder
    holds the winner's files only. Two runs of the same job together: both succeed."""
    for trial in range(1):  # each trial starts two interpreters (torch: slow on a busy machine)
        outputs, out = _race(tmp_path, (0, 1), trial)
        assert sorted(o.split()[0] for o in outputs) == ["ok", "refused"], outputs
        refused = next(o for o in outputs if o.startswith("refused"))
        assert "holds another materialize job (different seed" in refused
        manifest = check_complete(out)
        clean = tmp_path / f"clean{trial}"
        materialize(Shapes(12), clean, indices=INDICES, transform=pipeline(),
                    seed=manifest["job"]["seed"], progress=False)  # fmt: skip
        assert [p.read_bytes() for p in pngs(out)] == [p.read_bytes() for p in pngs(clean)]
    outputs, out = _race(tmp_path, (3, 3), 2)
    assert sorted(outputs) == ["ok 0", "ok 18"], outputs  # the second waited, then found all done
    check_complete(out)
