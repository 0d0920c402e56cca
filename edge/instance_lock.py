"""One daemon per site: an exclusive lock taken before anything else starts.

`fcntl.flock` on a file in the state directory (and one beside the API socket): the kernel
releases it when the process dies, however it dies, so a stale lock never blocks a restart.
The holder writes its pid into the file so a second instance can name it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from pathlib import Path

STATE_LOCK = "edge.lock"
log = logging.getLogger(__name__)


class InstanceLocked(Exception):
    """Another daemon holds the lock; the message names it and its pid."""


class InstanceLock:
    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._fds: list[int] = []

    def acquire(self) -> None:
        """Take every lock or none; InstanceLocked (or OSError) if one cannot be taken.
        A lock file that cannot exist on a read-only file system is skipped with a warning
        while another lock (the socket's, on the runtime tmpfs) is held: a state directory
        gone read-only must not stop control, only its buffer."""
        skipped: list[str] = []
        try:
            for path in self.paths:
                fd = _take(path)
                if fd is None:
                    skipped.append(str(path))
                else:
                    self._fds.append(fd)
            if not self._fds:
                raise OSError(errno.EROFS, f"no lock file can be created: {', '.join(skipped)}")
        except BaseException:
            self.release()
            raise
        for path_text in skipped:
            log.warning("instance_lock_skipped path=%s reason=read-only file system", path_text)

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor drops the flock
        self._fds.clear()


def _open(path: Path) -> tuple[int, bool] | None:
    """The lock file, writable if possible; read-only is enough for flock. None: it does
    not exist and cannot be made (read-only file system)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660), True
    except OSError as exc:
        if exc.errno not in (errno.EROFS, errno.EACCES):
            raise
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC), False
        except FileNotFoundError:
            if exc.errno == errno.EROFS:
                return None
            raise exc from None


def _take(path: Path) -> int | None:
    opened = _open(path)
    if opened is None:
        return None
    fd, writable = opened
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise InstanceLocked(
            f"another edge daemon (pid {holder}) is running for this site: it holds {path}"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    if writable:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"
