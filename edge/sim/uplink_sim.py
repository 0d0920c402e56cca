"""The day's records through the daemon's outbox store, and a cloud that acknowledges them.

Records go into a real `OutboxDb` (SQLite, on a temporary file) with the daemon's envelope
(`record_json`) and per-stream sequence numbers. While the link is up, each drain reads
the oldest rows of each class, the cloud keeps every (stream, seq) it receives, and the
rows it acknowledged are deleted, as the daemon's drain does after a PUBACK. What is
measured: records produced, delivered (distinct (stream, seq) at the cloud), duplicated
(received again), lost (produced and neither delivered nor still in the outbox at the end),
and the most rows waiting at once. Not simulated: the MQTT session, the telemetry budget's
thinning and the group-commit timing (the outbox's own tests and benchmarks cover them).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.uplink.envelope import record_json
from edge.uplink.outbox_db import NewRow, OutboxDb
from edge.uplink.policy import MsgClass, class_of

DRAIN_ROWS = 500  # rows per class per drain while the link is up


@dataclass(frozen=True, slots=True)
class UplinkResult:
    produced: int
    delivered: int
    duplicated: int
    lost: int
    waiting_at_end: int
    max_waiting: int
    down_s: float


class SimUplink:
    def __init__(self, site: str, path: Path | None = None) -> None:
        self._tmp = None if path is not None else tempfile.TemporaryDirectory(prefix="edge-sim-")
        base = path if path is not None else Path(self._tmp.name) / "outbox.db"  # type: ignore[union-attr]
        self.db = OutboxDb(base)
        self.db.open()
        self.site = site
        self.seqs: dict[str, int] = {}
        self.batch: list[NewRow] = []
        self.received: set[tuple[str, int]] = set()
        self.duplicated = self.produced = self.waiting = self.max_waiting = 0
        self.up = True
        self.down_s = 0.0

    def produce(self, stream: str, payload: Any, wall: float) -> None:
        seq = self.seqs.get(stream, 0)
        self.seqs[stream] = seq + 1
        cls = class_of(stream)
        body = record_json(
            site=self.site,
            stream=stream,
            seq=seq,
            boot_id="sim",
            wall=wall,
            cls=cls,
            payload=payload,
        )
        self.batch.append(NewRow(stream, seq, cls, wall, body))
        self.produced += 1

    def tick(self, dt_s: float) -> None:
        """Commit what was produced this period; drain it when the link is up."""
        if self.batch:
            durable = any(r.cls is MsgClass.EVENT for r in self.batch)
            self.db.commit(self.batch, durable=durable)
            self.waiting += len(self.batch)
            self.batch = []
        self.max_waiting = max(self.max_waiting, self.waiting)
        if not self.up:
            self.down_s += dt_s
            return
        if self.waiting <= 0:  # nothing committed since the last drain: no read
            return
        for cls in MsgClass:
            self._drain(cls)

    def _drain(self, cls: MsgClass) -> None:
        rows = self.db.read(cls, 0, DRAIN_ROWS)
        if not rows:
            return
        for r in rows:
            key = (r.stream, int(json.loads(r.body)["seq"]))
            if key in self.received:
                self.duplicated += 1
            self.received.add(key)
        self.db.delete(r.id for r in rows)
        self.waiting -= len(rows)

    def result(self) -> UplinkResult:
        self.tick(0.0) if self.up else None
        waiting = sum(self.db.load()[2].values())
        self.db.close()
        if self._tmp is not None:
            self._tmp.cleanup()
        lost = self.produced - len(self.received) - waiting
        return UplinkResult(
            self.produced,
            len(self.received),
            self.duplicated,
            lost,
            waiting,
            self.max_waiting,
            self.down_s,
        )
