"""Active uplink alarms: raised and cleared as transitions (logged once each way).

Listeners (the uplink publishes them as `events/alarm` records) hear each transition.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Listener = Callable[[str, bool, str], None]


class Alarms:
    def __init__(self) -> None:
        self.active: dict[str, str] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def raise_(self, name: str, message: str) -> None:
        if self.active.get(name) == message:
            return
        fresh = name not in self.active
        self.active[name] = message
        if fresh:
            log.error("alarm_raised alarm=%s msg=%s", name, message)
            self._tell(name, True, message)

    def clear(self, name: str) -> None:
        if self.active.pop(name, None) is not None:
            log.info("alarm_cleared alarm=%s", name)
            self._tell(name, False, "")

    def _tell(self, name: str, active: bool, message: str) -> None:
        for listener in self._listeners:
            try:
                listener(name, active, message)
            except Exception:  # a listener must not stop the alarm reaching the others
                log.exception("alarm_listener_failed alarm=%s", name)
