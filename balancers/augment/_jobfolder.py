"""The output folder of a ``materialize`` job: claimed atomically, locked while written, every
file written atomically and recorded with its size and SHA-256.

What lives in a job folder besides the job's own files:

* ``manifest.json``: the job and the table of files. It is created with ``os.link`` from a
  complete temporary file, which fails when the name exists: the first job to create it owns the
  folder, and any other job sees its description (the claim is atomic, also between processes on
  several machines sharing a file system);
* ``.materialize.lock``: an exclusive ``flock`` held while files are written. The operating
  system releases it when the process ends in any way (SIGKILL, a crash, a lost node), so a lock
  is never stale; the empty file staying behind is harmless. A second run of the same job waits
  for the first to finish, then finds its files done. (Platforms without ``fcntl`` run without
  the lock.)
* ``.materialize.journal``: while the job is unfinished, one JSON line per file written (path,
  size, SHA-256), so that an interrupted job's files can be checked on resume;
* ``.<name>.<pid>.tmp``: a file being written (fsynced, then renamed to its final name).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "MANIFEST_NAME", "JobFolder", "check_out_dir"]

#: Name of the manifest file written in ``out_dir``.
MANIFEST_NAME = "manifest.json"
#: Name of the lock file held while a job writes.
LOCK_NAME = ".materialize.lock"
#: Name of the journal of an unfinished job.
JOURNAL_NAME = ".materialize.journal"
_TMP_SUFFIX = ".tmp"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of a job (``.<name>.<pid>.tmp``)."""
    return name.startswith(".") and name.endswith(_TMP_SUFFIX)


def check_out_dir(root: Path) -> None:
    """Raise a ValueError when ``root`` is a file or lies under a file (else nothing)."""
    for path in (root, *root.parents):
        if not os.path.lexists(path):
            continue
        if not path.is_dir():
            what = "is" if path == root else f"lies under {str(path)!r}, which is"
            raise ValueError(
                f"`out_dir` should be a folder (or a path where one can be created), but "
                f"{str(root)!r} {what} a file. Choose another `out_dir`."
            )
        return


def sha256_of(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``: a temporary file, fsynced, renamed into place. The temporary
    file is created exclusively and never through a symlink; a symlink at ``path`` itself is
    replaced, not followed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{_TMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    try:
        fd = os.open(tmp, flags, 0o644)
    except FileExistsError:  # left by a killed process that had our pid
        os.unlink(tmp)
        fd = os.open(tmp, flags, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system syncs folders
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class JobFolder:
    """A materialize job's output folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest = root / MANIFEST_NAME
        self.journal = root / JOURNAL_NAME

    # -- the claim -------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when the folder holds none."""
        try:
            text = self.manifest.read_text()
        except FileNotFoundError:
            return None
        try:
            body = json.loads(text)
            if not isinstance(body, dict) or not isinstance(body.get("job"), dict):
                raise ValueError("no job in it")
        except ValueError as exc:
            raise ValueError(
                f"The manifest {str(self.manifest)!r} cannot be read ({exc}); remove `out_dir` "
                "or choose another one."
            ) from exc
        return body

    def claim(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Create the manifest ``body`` unless the folder already holds one; return the one it
        holds (None: this call created it). Raises ValueError when the folder holds other
        things and no manifest."""
        while True:
            found = self.read_manifest()
            if found is not None:
                return found
            others = [e for e in os.listdir(self.root) if not is_temporary(e) and e != LOCK_NAME]
            if others:
                raise ValueError(
                    f"`out_dir` {str(self.root)!r} should be empty or hold an unfinished "
                    f"materialize job, but it holds {len(others)} other entries (e.g. "
                    f"{sorted(others)[0]!r}) and no {MANIFEST_NAME}. Choose an empty or new folder."
                )
            tmp = self.root / f".{MANIFEST_NAME}.claim.{os.getpid()}{_TMP_SUFFIX}"
            try:
                write_atomic(tmp, json.dumps(body, indent=1).encode())
                os.link(tmp, self.manifest)  # atomic; fails when another job got there first
            except FileExistsError:
                continue  # read the winner's manifest
            except FileNotFoundError:
                continue  # our temporary file was cleaned up by the job that holds the folder
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            _fsync_dir(self.root)
            return None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder's lock (waiting for another run of the job to finish)."""
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- files -----------------------------------------------------------------------------
    def prepare(self, folders: list[str]) -> None:
        """Remove temporary files left by interrupted runs and create the job's folders,
        refusing any that is a symlink or not a folder."""
        for directory in [self.root, *(self.root / f for f in folders)]:
            if directory != self.root:
                if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
                    raise ValueError(
                        f"Refusing to write into {str(directory)!r}: it is a symlink or a file, "
                        "not a folder of this job (files would land outside `out_dir`). Remove "
                        "it and run again."
                    )
                directory.mkdir(exist_ok=True)
            with os.scandir(directory) as entries:
                for entry in entries:
                    if is_temporary(entry.name):
                        os.unlink(entry.path)

    def recorded(self, manifest: dict[str, Any] | None) -> dict[str, tuple[int, str]]:
        """Size and SHA-256 of the files a previous run recorded (manifest and journal)."""
        found: dict[str, tuple[int, str]] = {}
        for entry in (manifest or {}).get("files", []):
            if isinstance(entry, dict) and "sha256" in entry:
                found[entry["file"]] = (entry["size"], entry["sha256"])
        with contextlib.suppress(FileNotFoundError), open(self.journal) as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                    found[entry["file"]] = (entry["size"], entry["sha256"])
                except (ValueError, KeyError, TypeError):  # a line cut by a kill
                    continue
        return found

    def verified(self, paths: list[str], recorded: dict[str, tuple[int, str]]) -> list[bool]:
        """For each path: whether the file is there, a regular file, and matches its record."""
        ok = []
        for path in paths:
            file = self.root / path
            record = recorded.get(path)
            if file.is_symlink():
                raise ValueError(
                    f"Refusing to use {str(file)!r}: it is a symlink, not a file of this job. "
                    "Remove it and run again."
                )
            ok.append(record is not None and file.is_file() and sha256_of(file) == record)
        return ok

    def write(self, path: str, data: bytes) -> tuple[int, str]:
        """Write one of the job's files atomically; return its size and SHA-256."""
        write_atomic(self.root / path, data)
        return len(data), hashlib.sha256(data).hexdigest()

    def journal_lines(self) -> TextIO:
        """The journal, open for appending lines (close it)."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW
        return os.fdopen(os.open(self.journal, flags, 0o644), "a")

    def finish(self, body: dict[str, Any], folders: list[str]) -> None:
        """Write the complete manifest and drop the journal."""
        for folder in folders:
            _fsync_dir(self.root / folder)
        write_atomic(self.manifest, json.dumps(body, indent=1).encode())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)
        _fsync_dir(self.root)

    def remove_job(self, manifest: dict[str, Any]) -> None:
        """Delete the files of the job ``manifest`` describes, its journal and its manifest
        (what ``restart=True`` does); other files stay."""
        folders = set()
        for entry in manifest.get("files", []):
            name = entry.get("file") if isinstance(entry, dict) else None
            parts = name.split("/") if isinstance(name, str) else []
            if len(parts) != 2 or parts[0] in ("", ".", "..") or parts[1] in ("", ".", ".."):
                continue  # not a file of our layout (folder/file): a tampered manifest
            path = self.root / parts[0] / parts[1]
            if path.parent != self.root and path.parent.is_symlink():
                continue  # never delete through a symlink
            if path.is_symlink() or path.is_file():
                path.unlink()
            folders.add(path.parent)
        for extra in ("labels.csv", JOURNAL_NAME):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.root / extra)
        for folder in folders:
            if folder != self.root and not folder.is_symlink():
                with contextlib.suppress(OSError):  # not empty: other files stay
                    folder.rmdir()
        self.manifest.unlink()
