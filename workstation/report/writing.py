"""Writing a report file: atomically (a temporary dot-file beside it, then os.replace), so an
existing report is never left half-written, with the permissions any file the user writes gets."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from workstation.errors import WorkstationError


def write_html(html: str, path: str | os.PathLike) -> Path:
    """Write `html` to `path` (UTF-8); WorkstationError naming the file when it cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise WorkstationError(f"cannot write the report to {path}: it is a folder; give a file name")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WorkstationError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    return path
