"""Output paths of every command: an impossible path exits 2 with one line naming it.

The cases: the output is a file where a folder is needed (or a folder where a file is), its
parent is a file, a read-only folder, a full disk. A read-only folder and a full disk are real:
a small tmpfs mounted read-only or filled up (root can mount one here); without root the
read-only folder is a chmod 0o555 folder and the full-disk case is skipped.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from balancers.cli import CommandError, main
from balancers.cli._output import writing
from tests.test_augment_cli import image_folder


def _mount_tmpfs(where: Path, options: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", os.fspath(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write to: a read-only tmpfs (root), else chmod 0o555."""
    folder = tmp_path / "read_only"
    if _mount_tmpfs(folder, "ro,size=64k"):
        try:
            yield folder
        finally:
            subprocess.run(["umount", os.fspath(folder)], check=True)
        return
    if os.geteuid() == 0:
        pytest.skip("root cannot mount a tmpfs here, and chmod does not stop root from writing")
    folder.mkdir()
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system says no."""
    with open(path, "wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a file system with no space left: a 256 KiB tmpfs filled up."""
    folder = tmp_path / "full"
    if not _mount_tmpfs(folder, "size=256k"):
        pytest.skip("a full disk needs a small tmpfs, which only root can mount (not root here)")
    try:
        with pytest.raises(OSError, match="No space left"):
            _fill(folder / "filler")
        yield folder
    finally:
        subprocess.run(["umount", os.fspath(folder)], check=True)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A label file and a tiny ImageFolder under ``tmp_path``."""
    np.save(tmp_path / "y.npy", np.array([0, 0, 0, 1, 2]))
    image_folder(tmp_path / "images", {"a": 6, "b": 4})
    return tmp_path


def _argv(command: str, data: Path, out: Path | str) -> list[str]:
    """Each command, writing to ``out``."""
    images = str(data / "images")
    return {
        "describe": ["describe", str(data / "y.npy"), "--plot", str(out)],
        "split": [
            *("split", "imagefolder", "--root", images, "--ratio", "2", "--n-max", "2"),
            *("--out", str(out)),
        ],
        "materialize": [
            *("materialize", "--dataset", "imagefolder", "--root", images),
            *("--out", str(out), "--no-progress"),
        ],
        "demo": ["demo", "--quick", "--strategies", "ce", "--no-progress", "--out", str(out)],
    }[command]


COMMANDS = ["describe", "split", "materialize", "demo"]


def _one_line_error(capsys: pytest.CaptureFixture[str], command: str, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"balancers {command}: error: "), err
    return err


@pytest.mark.parametrize("command", COMMANDS)
def test_parent_is_a_file(command: str, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (data / "file").write_text("x")
    out = data / "file" / "out" / "result.png"
    err = _one_line_error(capsys, command, _argv(command, data, out))
    assert f"{str(data / 'file')!r} is a file, so no folder can be made under it" in err


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("describe", "is a folder; pass a file name"),
        ("materialize", "is a file, not a folder"),
        ("demo", "is a file, not a folder"),
    ],
)
def test_output_of_the_wrong_kind(
    command: str, message: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = data / "images" if command == "describe" else data / "y.npy"
    err = _one_line_error(capsys, command, _argv(command, data, out))
    assert f"{str(out)!r} {message}" in err


def test_plot_to_a_new_folder_name_is_refused(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = f"{data / 'new'}{os.sep}"
    err = _one_line_error(capsys, "describe", _argv("describe", data, out))
    assert f"--plot {out!r} is a folder; pass a file name" in err
    assert not (data / "new").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_read_only_folder(
    command: str, data: Path, read_only_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = read_only_folder / "result.png"
    err = _one_line_error(capsys, command, _argv(command, data, out))
    assert str(read_only_folder) in err
    assert "read-only file system" in err or "is not writable" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_full_disk(
    command: str, data: Path, full_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = full_disk / "result.png"
    err = _one_line_error(capsys, command, _argv(command, data, out))
    assert str(out) in err and "No space left on device" in err
    assert "free some space" in err


def test_split_checks_out_before_printing_the_table(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data / "file").write_text("x")
    assert main(_argv("split", data, data / "file" / "m.json")) == 2
    assert capsys.readouterr().out == ""


def test_describe_json_into_a_closed_pipe_exits_quietly(data: Path) -> None:
    """``balancers describe --json | head``: no BrokenPipeError traceback."""
    labels = np.repeat(np.arange(3000), 2)  # a JSON report far larger than a pipe buffer
    np.save(data / "many.npy", labels)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, as when head has exited
    try:
        done = subprocess.run(
            [sys.executable, "-m", "balancers", "describe", str(data / "many.npy"), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_describe_json_through_head(data: Path) -> None:
    """The same through a real shell pipe: the first lines arrive, nothing on stderr."""
    command = f"{sys.executable} -m balancers describe {data / 'y.npy'} --json | head -n 2"
    done = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert done.stdout.splitlines() == ["{", f'  "source": "{data / "y.npy"}",']
    assert done.stderr == ""


def test_only_errors_about_the_output_become_output_errors(tmp_path: Path) -> None:
    out = tmp_path / "out"
    inside = PermissionError(errno.EACCES, "Permission denied", str(out / "a" / "1.png"))
    expected = r"--out '.*out': cannot write '.*1.png': Permission"
    with pytest.raises(CommandError, match=expected), writing(out, "--out"):
        raise inside
    elsewhere = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "input.png"))
    with pytest.raises(PermissionError), writing(out, "--out"):
        raise elsewhere  # an unreadable input is not an output problem
    with pytest.raises(OSError, match="Input/output error"), writing(out, "--out"):
        raise OSError(errno.EIO, "Input/output error")  # not a write error we can explain
