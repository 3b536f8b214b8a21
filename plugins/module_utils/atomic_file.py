# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Atomic, locked file updates shared by the collection's modules."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile


@contextlib.contextmanager
def locked(directory, name=".limen.lock"):
    """Hold an exclusive lock on DIRECTORY/NAME so concurrent runs serialize."""
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.path.join(directory, name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_text(path, errors="strict"):
    """Return the file's text, or None when it does not exist (ERRORS: as for open())."""
    try:
        with open(path, encoding="utf-8", errors=errors) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def octal_mode(mode, default=0o644):
    """The numeric file mode of a module's `mode` argument ("0640", 0o640 or None).

    A symbolic mode ("u=rw,g=r") gives DEFAULT here; the module's common file arguments
    apply it right after the write.
    """
    if isinstance(mode, int):
        return mode
    try:
        return int(mode, 8)
    except (TypeError, ValueError):
        return default


@contextlib.contextmanager
def staged(path, text, mode=0o644, prefix=".tmp-"):
    """A temp file beside PATH holding TEXT (fsynced) with MODE; gone on exit unless renamed.

    Beside PATH, so that renaming it over PATH is atomic and a checker sees it where PATH's
    relative references resolve.
    """
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_atomic(path, text, mode=0o644):
    """Write TEXT to PATH through a temp file in the same directory and rename.

    A reader sees the old file or the new one, never a half-written one.
    """
    with staged(path, text, mode) as tmp:
        os.replace(tmp, path)
