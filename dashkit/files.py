"""Replacing files without losing them: write to a temporary file beside the
target, then rename it over the target once complete, so a failure leaves
the old file whole.

Example
-------
>>> import pathlib, tempfile
>>> target = pathlib.Path(tempfile.mkdtemp()) / "report.html"
>>> write_atomically(target, "<html></html>")
>>> target.read_text()
'<html></html>'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_UMASK = os.umask(0o022)  # read once: os.umask can only be read by setting it
os.umask(_UMASK)


def temporary_beside(path: Path) -> Path:
    """A new empty file in ``path``'s folder, hidden, for :func:`replace`."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    return Path(name)


def replace(temporary: Path, path: Path) -> None:
    """Rename ``temporary`` over ``path``, with the mode a plain ``open()`` of
    ``path`` would have left (the old file's, or the default for a new one)."""
    if path.exists():
        shutil.copymode(path, temporary)
    else:
        os.chmod(temporary, 0o666 & ~_UMASK)
    os.replace(temporary, path)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it."""
    temporary = temporary_beside(path)
    try:
        temporary.write_text(text, encoding="utf-8")
        replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
