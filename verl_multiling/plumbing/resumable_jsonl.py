r"""Append-only JSONL files of keyed records that a kill cannot damage: the one writer of both resumable
jobs (``verl-multiling generate`` and the PB-RLSVR pivot-reference job).

A file holds one JSON object per ``\n``-terminated UTF-8 line; every record has a key, ``key_of(record)``
(``(lang, id, sample_index)`` for generate, the question's sha1 for the pivot job), written once.

Rules (docs/resumable-jobs.md says the same for users):

* **A record is written when its line, newline included, is in the file.** A batch is encoded first, then
  written with one ``write`` loop to a descriptor opened with ``O_APPEND``, then ``fsync``'ed. A process
  killed at any moment leaves the file as it was plus a prefix of the batch's bytes.
* **Opening is one streaming pass** (:func:`scan`) that collects the keys (and the byte offset where the
  next record goes). They stay in memory; :meth:`AppendOnlyJsonl.append` never reads the file, so a
  job's cost per batch does not grow with the file.
* **Recovery never rewrites what is written.** The bytes after the last ``\n`` (the tail a kill leaves)
  are a whole record if they parse as a JSON object (a cut inside a record never does): its newline is
  appended. Anything else, including a cut inside a multi-byte UTF-8 character, is a torn write and is
  cut with ``ftruncate`` at the byte offset just after the last complete line. Bytes before that offset
  are never written again.
* **A bad complete line is not something a kill leaves** (not UTF-8, not JSON, not an object such as
  ``null``, no usable key, a key seen earlier in the file). Opening stops with :class:`BadLinesError`
  naming the file, line numbers and byte offsets, and how to keep the finished work: ``repair=True``
  (the jobs' ``--repair``, or ``python -m verl_multiling.plumbing.resumable_jsonl repair FILE``) appends the bad
  lines, byte for byte, to ``FILE.rejected``, writes the good lines to a temporary file, ``fsync``\ s it
  and renames it over ``FILE``: a kill during a repair leaves either the old file or the repaired one.
  That explicit repair is the only path that writes a new copy of a file. When ``FILE`` is a symbolic
  link, its target is repaired (temporary file and ``.rejected`` next to the target); the link stays.
* **One writer per file**: the writer holds an exclusive ``flock``; a second writer gets
  :class:`FileInUseError`. (On a filesystem without ``flock`` the lock is skipped; the writer still
  refuses to append when the file's size is not the one it wrote.)

Readers that do not write (``verl-multiling eval``, the other shards' part files of the pivot job) use
:func:`scan`/:func:`read_records`: a torn tail is ignored, never modified.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["AppendOnlyJsonl", "BadLine", "BadLinesError", "FileInUseError", "Scan", "encode_record",
           "field_key", "read_records", "scan"]

KeyFn = Callable[[dict], Hashable]
REJECTED_SUFFIX = ".rejected"
_READ_BUFFER = 1 << 20


# ---------------------------------------------------------------------------------------------------
# pure parts: errors, encoding, one line, one streaming pass
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadLine:
    line: int  # 1-based line number
    offset: int  # byte offset of the line's first byte
    reason: str


class BadLinesError(ValueError):
    """Complete lines that are not records; the message names the file, lines, offsets and the way out."""

    def __init__(self, path: Path, bad: Sequence[BadLine], records: int, hint: str):
        self.path, self.bad, self.records, self.hint = Path(path), list(bad), records, hint
        shown = "; ".join(f"line {b.line} (byte {b.offset}): {b.reason}" for b in self.bad[:5])
        more = f"; and {len(self.bad) - 5} more" if len(self.bad) > 5 else ""
        super().__init__(f"{path}: {len(self.bad)} bad line(s), which a killed writer does not leave: {shown}{more}. "
                         f"The {records} good records are intact. {hint}")


class FileInUseError(RuntimeError):
    """Another process holds the file's writer lock."""


def default_hint(path: Path, fields: Sequence[str] | None = None) -> str:
    key = f" --key {','.join(fields)}" if fields else ""
    return (f"To keep them, move the bad lines to {Path(path).name}{REJECTED_SUFFIX} with: "
            f"python -m verl_multiling.plumbing.resumable_jsonl repair {path}{key}")


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One line: compact JSON (non-ASCII kept as UTF-8), ``\\n``-terminated.

    A string holding a lone surrogate (not encodable as UTF-8) is written with ``\\uXXXX`` escapes, which
    read back as the same string.
    """
    text = json.dumps(record, ensure_ascii=False)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record, ensure_ascii=True).encode("ascii") + b"\n"


def field_key(fields: Sequence[str]) -> KeyFn:
    """``key_of`` = the tuple of these fields (one field: its value); a missing or null field raises KeyError."""
    fields = tuple(fields)

    def key_of(record: dict) -> Hashable:
        missing = [name for name in fields if record.get(name) is None]
        if missing:
            raise KeyError(f"missing {', '.join(missing)}")
        values = tuple(record[name] for name in fields)
        for value in values:
            hash(value)  # a list or dict value raises TypeError here, named by the caller
        return values[0] if len(values) == 1 else values

    return key_of


_JSON_TYPES = {type(None): "null", list: "an array", str: "a string", bool: "a boolean", int: "a number",
               float: "a number"}


def _parse(raw: bytes) -> tuple[dict | None, str | None]:
    """``(record, None)`` or ``(None, why the line is not a record)``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 ({exc.reason} at byte {exc.start} of the line)"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(record, dict):
        return None, f"{_JSON_TYPES.get(type(record), type(record).__name__)} where a record (a JSON object) belongs"
    return record, None


def _key(record: dict, key_of: KeyFn | None) -> tuple[Hashable, str | None]:
    if key_of is None:
        return None, None
    try:
        return key_of(record), None
    except (KeyError, TypeError, ValueError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return None, f"a record without a usable key ({message})"


@dataclass
class Scan:
    """What one streaming pass over a file found."""

    keys: dict[Hashable, int] = field(default_factory=dict)  # key -> line number (with key_of)
    records: int = 0
    lines: int = 0  # complete lines, blank and bad ones included (the next record's line is lines + 1)
    end: int = 0  # byte offset just after the last complete line or whole record
    size: int = 0
    tail: str = ""  # "" (clean end), "torn" (bytes after end: a cut write), "record" (a whole record, no newline)
    bad: list[BadLine] = field(default_factory=list)

    @property
    def torn_bytes(self) -> int:
        return self.size - self.end if self.tail == "torn" else 0


def scan_handle(handle: BinaryIO, key_of: KeyFn | None = None,
                visit: Callable[[dict], None] | None = None) -> Scan:
    """One pass over an open binary file (see :func:`scan`)."""
    result = Scan()
    offset = 0
    for number, raw in enumerate(handle, 1):
        terminated = raw.endswith(b"\n")
        if not raw.strip():  # a blank line; unterminated: the start of a cut write
            offset += len(raw)
            if not terminated:
                result.tail = "torn"
                break
            result.lines, result.end = number, offset
            continue
        record, reason = _parse(raw)
        if not terminated and record is None:  # the unterminated tail is only a cut write
            result.tail = "torn"
            offset += len(raw)
            break
        if reason is None:
            key, reason = _key(record, key_of)
            if reason is None and key_of is not None and key in result.keys:
                reason = f"a second record with key {key!r} (first on line {result.keys[key]})"
        if reason is not None:
            result.bad.append(BadLine(number, offset, reason))
        else:
            if key_of is not None:
                result.keys[key] = number
            result.records += 1
            if visit is not None:
                visit(record)
        result.lines, result.end = number, offset + len(raw)
        if not terminated:
            result.tail = "record"
        offset += len(raw)
    result.size = offset
    return result


def scan(path: str | Path, key_of: KeyFn | None = None, visit: Callable[[dict], None] | None = None) -> Scan:
    """One streaming pass over ``path`` (read only; a missing file is empty).

    Collects each record's key (``key_of``), calls ``visit(record)`` on each good record, lists bad lines, and
    classifies the bytes after the last newline (``tail``). Never modifies the file.
    """
    path = Path(path)
    if not path.exists():
        return Scan()
    with open(path, "rb", buffering=_READ_BUFFER) as handle:
        return scan_handle(handle, key_of, visit)


def read_records(path: str | Path, key_of: KeyFn | None = None, hint: str | None = None) -> tuple[list[dict], Scan]:
    """Every record of a JSONL file (a torn tail is ignored), and the scan.

    Raises:
        BadLinesError: a bad complete line (naming the file, lines and the way out).
    """
    records: list[dict] = []
    result = scan(path, key_of, records.append)
    if result.bad:
        raise BadLinesError(Path(path), result.bad, result.records, hint or default_hint(Path(path)))
    return records, result


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform/filesystem can open a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------------
# the writer
# ---------------------------------------------------------------------------------------------------


class AppendOnlyJsonl:
    """The resumable, append-only writer of one file (see the module docstring).

    Opening locks the file, runs :func:`scan` once, repairs bad lines when ``repair`` (else raises
    :class:`BadLinesError` with ``hint`` as the way out), then recovers the tail. ``keys`` (the written keys)
    and ``end`` (the file's size) are kept in memory and updated by :meth:`append`.

    ``recovery``: ``""`` (clean), ``"cut N bytes"`` or ``"newline added"``; ``repaired``: bad lines moved aside.
    """

    def __init__(self, path: str | Path, key_of: KeyFn, *, repair: bool = False, hint: str | None = None):
        self.path = Path(path)
        self.key_of = key_of
        self.repaired = 0
        self.recovery = ""
        self._fd: int | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open_locked()
        try:
            result = self._scan()
            torn = result.torn_bytes
            if result.bad and repair:
                self.repaired = self._move_aside(result)  # the torn tail is not copied
                self._close_fd()
                self._open_locked()
                result = self._scan()
            if result.bad:
                raise BadLinesError(self.path, result.bad, result.records, hint or default_hint(self.path))
            self._recover(result)
            if torn and not self.recovery:
                self.recovery = f"cut {torn} bytes"
        except BaseException:
            self._close_fd()
            raise
        self._keys = result.keys
        self.records = result.records
        self._lines = result.lines
        self.end = result.end + (result.tail == "record")
        self.torn_bytes = torn

    # -- public ---------------------------------------------------------------------------------------

    @property
    def keys(self):
        """The keys written so far (a live view: ``key in writer.keys``)."""
        return self._keys.keys()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def append(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Write a batch (one write, then fsync); returns how many records. Never reads the file.

        Raises before writing anything when a record is not a dict, has no key, or has a key already
        written (in the file or earlier in the batch). If the write itself fails (disk full, an interrupt),
        the partial batch is cut off again and the error raised.
        """
        if self._fd is None:
            raise ValueError(f"{self.path}: the writer is closed")
        chunks, keys = [], []
        batch_keys: set[Hashable] = set()
        for record in records:
            if not isinstance(record, Mapping):
                raise TypeError(f"{self.path}: a record must be a dict, got {type(record).__name__}")
            key = self.key_of(record)
            if key in self._keys or key in batch_keys:
                where = f"line {self._keys[key]}" if key in self._keys else "this batch"
                raise ValueError(f"{self.path}: key {key!r} is already written ({where}); each key is written once")
            batch_keys.add(key)
            keys.append(key)
            chunks.append(encode_record(record))
        if not chunks:
            return 0
        data = b"".join(chunks)
        size = os.fstat(self._fd).st_size
        if size != self.end:
            raise RuntimeError(f"{self.path} changed under its writer ({size} bytes on disk, {self.end} written by "
                               "this process): another process writes the same file; stop one of them")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.end)
            raise
        for key in keys:
            self._lines += 1
            self._keys[key] = self._lines
        self.end += len(data)
        self.records += len(keys)
        return len(keys)

    def close(self) -> None:
        self._close_fd()

    def __enter__(self) -> AppendOnlyJsonl:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- private --------------------------------------------------------------------------------------

    def _open_locked(self) -> None:
        existed = self.path.exists()
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            try:
                _lock(fd, self.path)
                if _same_file(os.fstat(fd), self.path):  # not renamed over by a repair while we waited
                    self._fd = fd
                    break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        else:
            raise FileInUseError(f"{self.path} keeps being replaced while it is opened; is another job repairing it?")
        if not existed:
            _fsync_dir(self.path.parent)

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def _scan(self) -> Scan:
        with open(self.path, "rb", buffering=_READ_BUFFER) as handle:
            return scan_handle(handle, self.key_of)

    def _recover(self, result: Scan) -> None:
        if result.tail == "torn":
            os.ftruncate(self._fd, result.end)
            os.fsync(self._fd)
            self.recovery = f"cut {result.torn_bytes} bytes"
        elif result.tail == "record":
            os.write(self._fd, b"\n")
            os.fsync(self._fd)
            self.recovery = "newline added"

    def _move_aside(self, result: Scan) -> int:
        """Bad lines -> FILE.rejected (appended, byte for byte); good lines -> a new FILE (temp file + rename).

        A symbolic link is followed: its target is the file repaired (the temporary file, the rename and
        ``.rejected`` are next to the target, on its filesystem); the link itself is never replaced.
        """
        bad = {b.line for b in result.bad}
        real = Path(os.path.realpath(self.path))
        rejected = real.with_name(real.name + REJECTED_SUFFIX)
        tmp = real.with_name(real.name + ".repair-tmp")
        with open(self.path, "rb", buffering=_READ_BUFFER) as source, open(tmp, "wb") as good, \
                open(rejected, "ab") as aside:
            for number, raw in enumerate(source, 1):
                if number > result.lines:  # the torn tail: cut as in a recovery
                    break
                if not raw.endswith(b"\n"):
                    raw += b"\n"
                (aside if number in bad else good).write(raw)
            for handle in (aside, good):
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, real)
        _fsync_dir(real.parent)
        link = f" (a link to {real}, which was repaired; the link is kept)" if self.path.is_symlink() else ""
        print(f"{self.path}{link}: moved {len(bad)} bad line(s) (line {', '.join(map(str, sorted(bad)[:10]))}"
              f"{' ...' if len(bad) > 10 else ''}) to {rejected}; kept {result.records} records", file=sys.stderr)
        return len(bad)


def _lock(fd: int, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise FileInUseError(f"{path} is being written by another process (it holds the file's lock); let it "
                             "finish or stop it before resuming") from None
    except OSError:  # a filesystem without flock (ENOLCK/ENOTSUP): unlocked, size checked before each append
        pass


def _same_file(stat: os.stat_result, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (stat.st_dev, stat.st_ino)


# ---------------------------------------------------------------------------------------------------
# command line: check / repair any JSONL file
# ---------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verl_multiling.plumbing.resumable_jsonl",
        description="Check or repair a JSONL file written by a resumable job (generate, pivot references).")
    parser.add_argument("command", choices=["check", "repair"],
                        help="check: report records, torn tail and bad lines (exit 1 if bad lines); "
                             "repair: move bad lines to FILE.rejected and cut a torn tail")
    parser.add_argument("file")
    parser.add_argument("--key", default=None,
                        help="comma-separated key fields (generate: lang,id,sample_index; pivot part files: key)")
    args = parser.parse_args(argv)
    fields = [f for f in (args.key or "").split(",") if f]
    key_of = field_key(fields) if fields else (lambda record: object())  # unkeyed: every record is distinct
    path = Path(args.file)
    if not path.is_file():
        why = "is a directory, not a JSONL file" if path.is_dir() else (
            "is a link to a file that does not exist" if path.is_symlink() else "not found")
        print(f"error: FILE {path} {why}", file=sys.stderr)
        return 2
    if args.command == "check":
        result = scan(path, field_key(fields) if fields else None)
        print(json.dumps({"file": str(path), "records": result.records, "bytes": result.size,
                          "torn_tail_bytes": result.torn_bytes, "tail_without_newline": result.tail == "record",
                          "bad_lines": [vars(b) for b in result.bad]}, ensure_ascii=False))
        return 1 if result.bad else 0
    try:
        with AppendOnlyJsonl(path, key_of, repair=True) as writer:
            report = {"file": str(path), "records": writer.records, "moved_aside": writer.repaired,
                      "recovery": writer.recovery or "none"}
            if path.is_symlink():
                report["link_target"] = os.path.realpath(path)  # the file repaired; the link is kept
            print(json.dumps(report))
    except FileInUseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a read-only file or directory: nothing was changed
        print(f"error: FILE {path} could not be repaired ({exc.strerror or exc}); make the file and its directory "
              "writable, or copy it somewhere writable and repair the copy", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
