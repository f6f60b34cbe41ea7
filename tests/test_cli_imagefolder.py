"""An ImageFolder through every command: describe, split, materialize with a split manifest.

A real ``ImageFolder`` of tiny PNG files. Also: ``--out`` / ``split.save`` with a folder argument,
and the manifest's file permissions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision.datasets import ImageFolder

from balancers import describe
from balancers.cli import main
from balancers.datasets import LongTailSplit, long_tail_split
from tests.test_augment_cli import image_folder

COUNTS = {"cat": 8, "dog": 8, "eel": 8}


@pytest.fixture
def images(tmp_path: Path) -> Path:
    return image_folder(tmp_path / "images", COUNTS)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_describe_shows_the_folder_names(images: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", "--dataset", "imagefolder", "--root", str(images), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["source"] == str(images)
    assert d["classes"] == [0, 1, 2] and d["names"] == ["cat", "dog", "eel"]
    assert d["counts"] == [8, 8, 8]
    assert main(["describe", "--dataset", "imagefolder", "--root", str(images)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[2].split() == ["class", "name", "count", "share"]
    assert table[3].split() == ["0", "cat", "8", "33.33%"]


def test_describe_api_shows_the_folder_names(images: Path) -> None:
    folder = ImageFolder(str(images))
    assert describe(folder).names == ["cat", "dog", "eel"]
    split = long_tail_split(folder, imbalance_ratio=4, n_max=8)
    assert describe(split.train).names == ["cat", "dog", "eel"]  # through the Subset


def _split(images: Path, out: Path | str, *extra: str) -> list[str]:
    argv = ["split", "imagefolder", "--root", str(images), "--ratio", "4", "--n-max", "5"]
    return [*argv, "--profile", "linear", *extra, "--out", str(out)]


def test_split_and_materialize_honour_the_manifest(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "lt.json"
    source = ImageFolder(str(images))
    assert main(_split(images, manifest, "--val-per-class", "2")) == 0
    printed = capsys.readouterr().out
    assert "cat" in printed and "eel" in printed  # the table shows the class names
    recorded = json.loads(manifest.read_text())
    counts = recorded["counts"]
    assert counts == {"train": [5, 3, 1], "val": [2, 2, 2], "test": [1, 1, 1]}
    parts = [set(recorded["indices"][part]) for part in ("train", "val", "test")]
    assert sum(map(len, parts)) == len(set().union(*parts))  # one folder, no image twice
    for part, counts in (("train", [5, 3, 1]), ("val", [2, 2, 2]), ("test", [1, 1, 1])):
        out = tmp_path / f"out_{part}"
        argv = ["materialize", "--dataset", "imagefolder", "--root", str(images)]
        argv += ["--manifest", str(manifest), "--part", part, "--out", str(out)]
        assert main([*argv, "--strategy", "none", "--augment", "none", "--no-progress"]) == 0
        written = ImageFolder(str(out))
        assert written.classes == ["cat", "dog", "eel"]
        assert np.bincount(written.targets).tolist() == counts
        # file k holds image k of the part: the folder's image at the manifest's index
        chosen = recorded["indices"][part]
        for f in json.loads((out / "manifest.json").read_text())["files"]:
            want = np.asarray(source[chosen[f["index"]]][0])
            np.testing.assert_array_equal(np.asarray(Image.open(out / f["file"])), want)
    capsys.readouterr()
    # oversampled: the long tail is there to be balanced, not copied whole
    out = tmp_path / "balanced"
    argv = ["materialize", "--dataset", "imagefolder", "--root", str(images)]
    argv += ["--manifest", str(manifest), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    assert np.bincount(ImageFolder(str(out)).targets).tolist() == [5, 5, 5]


@pytest.mark.parametrize(
    ("setup", "extra", "message"),
    [
        (None, ["--manifest", "absent.json"], "--manifest 'absent.json' does not exist"),
        ("folder", ["--manifest", "."], "--manifest '.' is a folder"),
        ("other", ["--manifest", "other.json"], "does not match the manifest"),
        ("broken", ["--manifest", "broken.json"], "cannot be read"),
        ("plain", ["--manifest", "plain.json", "--part", "val"], "has no val part"),
        (None, ["--split", "test"], "--split test applies to torchvision datasets"),
        (None, ["--part", "val"], "--part applies with --manifest"),
        ("plain", ["--manifest", "plain.json", "--split", "test"], "exclude each other"),
    ],
)
def test_materialize_manifest_errors(
    images: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str | None,
    extra: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if setup == "other":
        other = image_folder(tmp_path / "other", {"cat": 9, "dog": 8, "eel": 8})
        assert main(_split(other, tmp_path / "other.json")) == 0
    if setup == "plain":
        assert main(_split(images, tmp_path / "plain.json")) == 0
    if setup == "broken":
        (tmp_path / "broken.json").write_text("{not json")
    capsys.readouterr()
    argv = ["materialize", "--dataset", "imagefolder", "--root", str(images), "--out", "out"]
    assert main([*argv, *extra, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("balancers materialize: error: ")
    assert message in err, err
    assert not (tmp_path / "out").exists()


def test_split_of_an_image_folder_without_room_for_a_test_part(
    images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["split", "imagefolder", "--root", str(images), "--ratio", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "class 0 has 0 of its 8 samples left" in err
    assert "e.g. --n-max 4," in err  # the fix, in command-line terms


def test_split_of_an_image_folder_has_no_download(
    images: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["split", "imagefolder", "--root", str(images), "--download"]) == 2
    assert "--download applies to torchvision datasets" in capsys.readouterr().err


def test_a_missing_manifest_is_an_error_for_torchvision_data_too(
    test_data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["materialize", "--dataset", "mnist", "--root", str(test_data_root)]
    argv += ["--manifest", str(tmp_path / "absent.json"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.usefixtures("umask_022")
def test_split_out_folder_picks_the_standard_name(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new" / "manifests"
    assert main(_split(images, f"{new}{os.sep}")) == 0
    written = new / "imagefolder-lt-linear4-seed0.json"
    assert f"manifest written to {written}" in capsys.readouterr().out
    assert written.is_file() and (written.stat().st_mode & 0o777) == 0o644
    # an existing folder without the slash is a folder too
    assert main(_split(images, new, "--seed", "1")) == 0
    assert (new / "imagefolder-lt-linear4-seed1.json").is_file()
    assert sorted(p.name for p in new.iterdir()) == [
        "imagefolder-lt-linear4-seed0.json",
        "imagefolder-lt-linear4-seed1.json",
    ]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_split_save_to_a_folder_with_normal_permissions(
    images: Path, tmp_path: Path, umask: int, mode: int
) -> None:
    split = long_tail_split(ImageFolder(str(images)), imbalance_ratio=4, n_max=6, seed=3)
    previous = os.umask(umask)
    try:
        written = split.save(f"{tmp_path / 'fresh'}/")
        again = split.save(tmp_path / "fresh")  # existing folder, no slash
        named = split.save(tmp_path / "fresh" / "named.json")
    finally:
        os.umask(previous)
    assert written == tmp_path / "fresh" / "imagefolder-lt-exp4-seed3.json" == again
    assert named.name == "named.json"
    for path in (written, named):
        assert (path.stat().st_mode & 0o777) == mode
    loaded = LongTailSplit.load(written, ImageFolder(str(images)))
    assert loaded.train_indices.tolist() == split.train_indices.tolist()
