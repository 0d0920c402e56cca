"""One daemon per site: an exclusive lock taken before anything else starts.

`fcntl.flock` on a file in the state directory (and one beside the API socket): the kernel
releases it when the process dies, however it dies, so a stale lock never blocks a restart.
The holder writes its pid into the file so a second instance can name it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

STATE_LOCK = "edge.lock"


class InstanceLocked(Exception):
    """Another daemon holds the lock; the message names it and its pid."""


class InstanceLock:
    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self._fds: list[int] = []

    def acquire(self) -> None:
        """Take every lock or none; InstanceLocked (or OSError) if one cannot be taken."""
        try:
            for path in self.paths:
                self._fds.append(_take(path))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor drops the flock
        self._fds.clear()


def _take(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
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
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"
