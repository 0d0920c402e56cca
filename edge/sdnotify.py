"""systemd's sd_notify protocol in a few lines of stdlib (no dependency needed).

A no-op where NOTIFY_SOCKET is unset, so the daemon runs the same in a terminal, in a test
(which binds its own datagram socket and sets NOTIFY_SOCKET) and under systemd.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if addr.startswith("@"):
            addr = "\0" + addr[1:]  # abstract namespace
        self._address = addr or None
        self._sock: socket.socket | None = None
        if self._address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # Never block the event loop: if the manager stops reading, a kick is dropped
            # (and logged), and a missed watchdog is systemd's to act on.
            self._sock.setblocking(False)
        self._failing = False

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *fields: str) -> None:
        """Send `READY=1`, `WATCHDOG=1`, `STATUS=...` etc. Failures are logged, never raised:
        losing a notification must not take control down."""
        if self._sock is None or self._address is None:
            return
        try:
            self._sock.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failing:
                log.warning("sd_notify_failed fields=%s error=%s", ",".join(fields), exc)
            self._failing = True
            return
        if self._failing:
            log.info("sd_notify_recovered")
        self._failing = False

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def watchdog(self, status: str) -> None:
        self.notify("WATCHDOG=1", f"STATUS={status}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
