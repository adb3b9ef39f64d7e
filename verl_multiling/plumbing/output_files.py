"""Check, before any model is loaded, that a command's output path can be written.

A job that samples for hours and then fails on its output (a directory given as the file, a read-only or
immutable file, a parent that is a file) loses the work, and the OS error it raises names neither the flag
nor the fix. :func:`check_output_file` and :func:`check_output_dir` turn each case into
:class:`OutputPathError` (a ``ValueError``, so the commands' usual ``error: ...`` / exit 2 path reports
it), naming the flag, the path, the reason and what to pass instead. Neither changes an existing file:
the file probe opens it for appending and writes nothing; a file or directory the probe created is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["OutputPathError", "check_output_dir", "check_output_file", "describe_os_error"]


class OutputPathError(ValueError):
    """An output path that cannot be written (the message names the flag and the fix)."""


def describe_os_error(exc: OSError) -> str:
    """``strerror`` of an OS error (``"Permission denied"``), or its text when it has none."""
    return exc.strerror or str(exc) or type(exc).__name__


def check_output_file(path: str | Path, flag: str, example: str = "out.jsonl") -> None:
    """Refuse an output *file* that cannot be written (``example``: a file name the message suggests).

    Raises:
        OutputPathError: ``path`` is a directory; its parent cannot be created (a file in the way, no
            permission); or the file cannot be opened for appending (read-only, immutable, a read-only
            filesystem).
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{flag} {path} is a directory; give a file path, e.g. {flag} {path / example}")
    _check_ancestors(path, flag)
    created_parent = _missing_parents(path.parent)
    existed = path.exists() or path.is_symlink()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as exc:
        _remove_dirs(created_parent)
        raise OutputPathError(f"{flag} {path} cannot be written ({describe_os_error(exc)}); choose a writable "
                              f"path for {flag}, or fix the file's permissions/attributes (lsattr, chmod)") from None
    if not existed:
        with contextlib.suppress(OSError):
            path.unlink()
        _remove_dirs(created_parent)


def check_output_dir(path: str | Path, flag: str) -> None:
    """Refuse an output *directory* that cannot be created or written into (probed with a temporary file).

    Raises:
        OutputPathError: ``path`` is a file, cannot be created, or refuses a new file.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{flag} {path} is a file, not a directory; give a directory path for {flag}")
    _check_ancestors(path, flag)
    created = _missing_parents(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{flag} {path} cannot be written ({describe_os_error(exc)}); choose a writable "
                              f"directory for {flag}") from None
    finally:
        _remove_dirs(created)  # the command creates it when it writes


def _check_ancestors(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a directory (else mkdir says only "File exists")."""
    for ancestor in Path(os.path.abspath(path)).parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputPathError(f"{flag} {path} cannot be written (Not a directory: {ancestor} is a file); "
                                      f"choose a writable path for {flag}")
            return


def _missing_parents(directory: Path) -> list[Path]:
    """The directories ``mkdir(parents=True)`` would create for ``directory``, deepest first."""
    missing = []
    current = Path(os.path.abspath(directory))
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing


def _remove_dirs(created: list[Path]) -> None:
    for directory in created:  # deepest first; only the empty ones this probe made
        with contextlib.suppress(OSError):
            directory.rmdir()
