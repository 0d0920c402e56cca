"""The instance lock: a second holder is refused with the first's pid; released on close."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge.instance_lock import InstanceLock, InstanceLocked


def test_a_second_holder_is_refused_naming_the_first_and_takes_nothing(tmp_path: Path) -> None:
    first = InstanceLock([tmp_path / "a.lock", tmp_path / "b.lock"])
    first.acquire()
    try:
        # A second daemon that shares only the second file (e.g. the socket) is refused too,
        # and gives back the first file it had taken.
        second = InstanceLock([tmp_path / "other.lock", tmp_path / "b.lock"])
        with pytest.raises(InstanceLocked, match=rf"pid {os.getpid()}\) .*b\.lock"):
            second.acquire()
        third = InstanceLock([tmp_path / "other.lock"])
        third.acquire()
        third.release()
    finally:
        first.release()
    again = InstanceLock([tmp_path / "a.lock", tmp_path / "b.lock"])
    again.acquire()
    again.release()
