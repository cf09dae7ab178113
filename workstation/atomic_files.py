"""Atomic file writes shared by the bar store, run folders and saved configs.

Every write goes to a temporary file beside the target, named with a leading dot (pyarrow, pandas
and DuckDB readers skip dot-files), then `os.replace` puts it in place: a reader or a crash sees
either the old file or the complete new one. The temporary file is created with mode 0o666 masked
by the user's umask (as `open()` does), never the 0600 of `tempfile.mkstemp`, so run folders and
configs are as readable as any other file the user writes. A failed write (disk full, read-only
folder, permission) removes its temporary file and re-raises the OSError for the caller to report.
pyarrow is imported only by `write_parquet_atomic`, so text and byte writers stay light.
"""

from __future__ import annotations

import errno
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def temporary_path(path: Path) -> Path:
    """A unique dot-name beside `path` (same folder, so os.replace is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, durable: bool = False) -> Path:
    """Write `data` to `path` atomically; `durable` fsyncs before the rename (survives a power cut)."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str, durable: bool = False) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"), durable=durable)


def write_parquet_atomic(table: pa.Table, path: str | os.PathLike, durable: bool = False, **options) -> Path:
    """Write a Parquet file atomically (`options` go to pyarrow.parquet.write_table; with none but
    `use_dictionary`, the same write without importing pyarrow.parquet: arrow_tables.write_parquet)."""
    path = Path(path)
    tmp = temporary_path(path)
    try:
        if set(options) <= {"use_dictionary"}:
            from workstation.arrow_tables import write_parquet

            write_parquet(table, tmp, **options)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp, **options)
        if durable:
            _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def os_error_text(exc: OSError) -> str:
    """An OSError in the words a user acts on (disk full, read-only, permission); the system's own
    text when the error is of another kind."""
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder",
        errno.EEXIST: "it already exists",
        errno.ENOENT: "no such file or folder",
    }.get(exc.errno or -1)
    if reason:
        return reason
    return exc.strerror or str(exc) or type(exc).__name__
