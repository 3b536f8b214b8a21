# -*- coding: utf-8 -*-
# Copyright: limen.monitoring contributors
# Apache License 2.0
"""Atomic, locked file updates shared by the collection's modules (PRIVATE to the collection).

Every open of a file another user may have replaced (a destination, a manifest, a file in
a pruned directory, a source) goes through read_regular(): it never follows a final
symlink unless asked, never blocks on a FIFO or a device (O_NONBLOCK, then fstat), and
reads at most a bounded number of bytes, so /dev/zero or a FIFO is refused, not waited on.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile

# Far above any configuration or dashboard the collection writes; a bound, not a quota.
READ_LIMIT = 64 * 1024 * 1024
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


class UnsafeFile(ValueError):
    """A path that is not a regular file (or too large) where one is read or written.

    WHAT says what it is instead ("a FIFO (named pipe)", "a symbolic link", "too large")."""

    def __init__(self, message, what=""):
        super().__init__(message)
        self.what = what


def kind(mode):
    """'a FIFO (named pipe)', 'a directory', ... for a st_mode that is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular(path, follow=False, limit=READ_LIMIT):
    """The bytes of the regular file PATH, or None when it does not exist.

    Raises UnsafeFile (naming PATH) for a symlink (unless FOLLOW), a FIFO, a device, a
    socket, a directory or a file larger than LIMIT; other OSErrors propagate.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise UnsafeFile(f"{path} is a symbolic link; refusing to open a file through it",
                             "a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{path} is {kind(info.st_mode)}, not a regular file", kind(info.st_mode))
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise UnsafeFile(f"{path} is larger than {limit} bytes; refusing to read it",
                                 f"larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def regular_or_absent(path):
    """Raise UnsafeFile unless PATH is missing or a regular file (lstat: a symlink is refused)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"{path} is {kind(info.st_mode)}, not a regular file")


@contextlib.contextmanager
def locked(directory, name=".limen.lock"):
    """Hold an exclusive lock on DIRECTORY/NAME so concurrent runs serialize.

    The lock file is opened without following a symlink (a planted link cannot make root
    create a file elsewhere) and is removed again while still held, so none is left
    behind, also after a failure. A waiter that got a file removed meanwhile tries again.
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    while True:
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeFile(f"{path} is a symbolic link; refusing to lock through it") from None
            raise
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise UnsafeFile(f"{path} is {kind(info.st_mode)}, not the module's lock file")
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            now = os.lstat(path)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino):
            break
        os.close(fd)  # the holder before us removed it: lock the new one
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)  # releases the lock


def read_text(path, errors="strict", follow=False):
    """The UTF-8 text of the regular file PATH (None when it does not exist); see read_regular.

    The one text reader of the collection: its callers only put their own words on the
    errors (UnsafeFile, OSError, UnicodeDecodeError, whose .object holds the bytes)."""
    data = read_regular(path, follow=follow)
    return None if data is None else data.decode("utf-8", errors)


def octal_mode(mode, default=0o644):
    """The numeric file mode of a module's `mode` argument ("0640", 0o640 or None).

    A symbolic mode ("u=rw,g=r") gives DEFAULT here; the module's common file arguments
    apply it right after the write. Check the value first with file_attributes.mode_problem.
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


# ---- directories another user can change: no symlink followed there ----
def trusted(info):
    """True when only root can change the entries of the directory with stat INFO."""
    return info.st_uid == 0 and not info.st_mode & 0o022


def untrusted_symlink(path):
    """The first symlink on the way to the absolute PATH that sits in a directory a user other
    than root can change (so that user can point it anywhere), or None.

    Components that do not exist yet end the walk: they will be made as real directories.
    """
    current = "/"
    for name in [n for n in path.split("/") if n]:
        candidate = os.path.join(current, name)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            if not trusted(os.stat(current)):
                return candidate
            current = os.path.realpath(candidate)
        else:
            current = candidate
    return None


def _symlink_refused(path, parent_fd):
    owner = os.fstat(parent_fd).st_uid
    return UnsafeFile(f"{path} is a symbolic link in a directory that uid {owner} (not only root) can "
                      "change; refusing to follow it")


def open_directory(path):
    """A file descriptor of the directory PATH, opened one component at a time: a symlink is
    followed only where root alone could have made it, so another user cannot swap a directory
    for a link between a check and a write. Raises UnsafeFile or OSError."""
    fd = os.open("/", os.O_DIRECTORY | os.O_CLOEXEC)
    walked = "/"
    try:
        for name in [n for n in path.split("/") if n]:
            walked = os.path.join(walked, name)
            fd = _open_child(fd, name, walked)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_child(parent_fd, name, path):
    """Open directory NAME under PARENT_FD (closed here), following a link only in a trusted parent."""
    follow = trusted(os.fstat(parent_fd))
    try:
        return os.open(name, os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW), dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and not follow:
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(os.lstat(name, dir_fd=parent_fd).st_mode):
                    raise _symlink_refused(path, parent_fd) from None
        raise
    finally:
        os.close(parent_fd)


def open_subdirectory(parent_fd, name, path, create=False):
    """Like open_directory for one component below PARENT_FD (kept open); made when CREATE."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=parent_fd)
    return _open_child(os.dup(parent_fd), name, path)


def write_at(dir_fd, name, text, mode=0o644, uid=-1, gid=-1):
    """Replace NAME in the directory DIR_FD atomically with TEXT, owner and mode set before it appears."""
    for _attempt in range(100):
        tmp = f".tmp-{os.urandom(6).hex()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(errno.EEXIST, "no free temporary name", name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
            handle.flush()
            if uid != -1 or gid != -1:
                os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
