"""Where the gate lanes record decisions and actuator commands.

The hash-chained audit log in the local store is being built (issue 10, item 7); until it is
connected, `LogAudit` writes one `audit` log line per record. The store's writer implements
`Audit` and replaces it in `edge/runtime.py` (the hook is the `audit` argument of the lanes).
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Audit(Protocol):
    def record(self, kind: str, **fields: str) -> None: ...


class LogAudit:
    def record(self, kind: str, **fields: str) -> None:
        text = " ".join(
            f"{k}={v!r}" if " " in v or not v else f"{k}={v}" for k, v in fields.items()
        )
        log.info("audit kind=%s %s", kind, text)
