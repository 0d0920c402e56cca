"""The `ocpp` package's logger, tamed: it logs every frame at INFO (id tokens included) and
every refused message with a traceback. Frames go to DEBUG on `edge.ocpp.wire`; the
endpoint logs refusals itself, once per charge point and kind (edge/ocpp/connection.py)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

WIRE = logging.getLogger("edge.ocpp.wire")


class WireLogger(logging.LoggerAdapter[logging.Logger]):
    def __init__(self) -> None:
        super().__init__(WIRE, {})

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs.pop("exc_info", None)
        return msg, kwargs

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        super().log(logging.DEBUG, msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)
