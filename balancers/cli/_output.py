"""Output paths of the commands: checked before any work, and write errors as one line.

Every command that writes (``describe --plot``, ``split --out``, ``materialize --out``,
``demo --out``) checks its output path first (:func:`check_file`, :func:`check_folder`), so an
impossible path fails in a second instead of after the work, and wraps its writing in
:func:`writing`, so that what the file system says at write time (permission denied, read-only
file system, no space left on device) is one line naming the path, with exit code 2.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import CommandError

__all__ = ["check_file", "check_folder", "is_folder_argument", "writing"]


def is_folder_argument(path: Path | str) -> bool:
    """True when ``path`` names a folder: it ends with a path separator or is an existing folder.

    Example:
        >>> is_folder_argument("new_folder/"), is_folder_argument("manifest.json")
        (True, False)
    """
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def _first_existing(path: Path) -> Path:
    """``path`` itself or its nearest ancestor that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path.cwd()


def _check_creatable(path: Path, flag: str) -> None:
    """The folders that must be created above ``path`` can be: nothing in the way is a file."""
    existing = _first_existing(path.parent)
    if not existing.is_dir():
        raise CommandError(
            f"{flag} {os.fspath(path)!r}: {os.fspath(existing)!r} is a file, so no folder can be "
            "made under it; choose another path."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        problem = (
            "is on a read-only file system"
            if _read_only(existing)
            else "is not writable (permission denied)"
        )
        raise CommandError(
            f"{flag} {os.fspath(path)!r}: {os.fspath(existing)!r} {problem}; choose a folder you "
            "can write to."
        )


def _read_only(path: Path) -> bool:
    """``path`` is on a file system mounted read-only (POSIX; False where that cannot be told)."""
    if not hasattr(os, "statvfs"):
        return False
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def check_folder(path: Path, flag: str) -> None:
    """``path`` is an output folder that exists or can be created, and can be written to.

    Raises:
        CommandError: ``path`` is a file, lies under a file, or is not writable.
    """
    if os.path.lexists(path) and not path.is_dir():
        raise CommandError(
            f"{flag} {os.fspath(path)!r} is a file, not a folder; pass a folder (it is created "
            "if missing)."
        )
    _check_creatable(path / "_", flag)


def check_file(path: Path | str, flag: str) -> Path:
    """``path`` is an output file that can be written (its missing parent folders can be made).

    Returns:
        ``path`` as a Path.

    Raises:
        CommandError: ``path`` is a folder (or ends with a separator), lies under a file, or its
            folder is not writable.
    """
    if is_folder_argument(path):
        example = os.path.join(path, "report.png")
        raise CommandError(
            f"{flag} {os.fspath(path)!r} is a folder; pass a file name, e.g. {example!r}."
        )
    path = Path(path)
    _check_creatable(path, flag)
    return path


#: what to do about each write error the file system can report
_HINTS: dict[int, str] = {
    errno.ENOSPC: "free some space or choose another folder",
    errno.EDQUOT: "free some space or choose another folder",
    errno.EFBIG: "choose a file system that takes larger files",
    errno.EROFS: "choose a folder on a writable file system",
    errno.EACCES: "choose a folder you can write to",
    errno.EPERM: "choose a folder you can write to",
    errno.ENOTDIR: "a file stands where a folder is needed; choose another path",
    errno.EISDIR: "a folder stands where a file is needed; choose another path",
    errno.EEXIST: "something already stands at that path; choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def _inside(name: str | os.PathLike[str], folder: Path) -> bool:
    resolved, top = Path(os.path.abspath(name)), Path(os.path.abspath(folder))
    return resolved == top or top in resolved.parents


@contextmanager
def writing(path: Path, flag: str, *, within: Path | None = None) -> Iterator[None]:
    """Turn a write error of the file system under ``within`` (default: ``path``, an output
    folder; for an output file, its folder) into a one-line CommandError naming ``path``.

    Errors that name a file elsewhere (a damaged input, say) are not output errors and pass
    through unchanged.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno not in _HINTS:
            raise
        if exc.filename is not None and not _inside(exc.filename, within or path):
            raise
        where = "" if exc.filename is None else f" {os.fspath(exc.filename)!r}"
        reason = exc.strerror or os.strerror(exc.errno)
        raise CommandError(
            f"{flag} {os.fspath(path)!r}: cannot write{where}: {reason}; {_HINTS[exc.errno]}."
        ) from exc
