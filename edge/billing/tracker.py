"""Charging sessions, found or told, as billing records. Pure: no I/O, time passed in.

Two ways in, one open session per bay at a time:

* `observe(statuses, now)` each control cycle, for chargers that only report bay states
  (Modbus, CAN, the simulator): a bay entering a session state (charging, suspended) with a
  fresh reading opens a session; leaving it (finishing, available, occupied, faulted,
  unavailable) closes it; while open, one meter sample every `meter_every_s`. A stale or
  lost reading changes nothing (a data gap is not the end of a session). A session counter
  that falls back means the charger began a new session between two reads: the old one is
  closed (`counter-reset`) and a new one opened.
* `started`, `meter_values`, `ended`, called by a backend that is told about sessions (the
  OCPP endpoint: StartTransaction / TransactionEvent, MeterValues, StopTransaction). Bays it
  `claim`s are never observed, so a session is never counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from edge.billing.model import (
    MeterKind,
    MeterSample,
    MeterValues,
    Origin,
    Record,
    SessionEnded,
    SessionStarted,
    SignedValue,
)
from edge.chargers.port import BayStatus
from edge.readings import Grade
from edge.sessions import BayState
from edge.siteconf.model import SiteConfig

# Why an observed session ended, by the state the bay went to.
END_REASONS = {
    BayState.FINISHING: "finished",
    BayState.AVAILABLE: "ev-disconnected",
    BayState.OCCUPIED: "stopped",
    BayState.FAULTED: "faulted",
    BayState.UNAVAILABLE: "unavailable",
}


@dataclass(frozen=True, slots=True)
class Context:
    """What the site knows about a bay's session besides the charger: from site access and
    power sharing (`edge.sessions.Session.kind`)."""

    booking: str | None = None
    kind: str | None = None
    id_token: str | None = None


def _no_context(bay: str) -> Context:
    return Context()


@dataclass(frozen=True, slots=True)
class Open:
    start: SessionStarted
    last_sample_at: float
    last_energy_wh: float | None


class TrackerError(ValueError):
    """A backend call that does not fit the open sessions; nothing changed."""


class SessionTracker:
    def __init__(
        self,
        config: SiteConfig,
        new_id: Callable[[], str],
        *,
        meter_every_s: float = 60.0,
    ) -> None:
        self._where = {b.id: (b.charger, b.connector_id) for b in config.bays}
        self._new_id = new_id
        self.meter_every_s = meter_every_s
        self.open: dict[str, Open] = {}  # bay -> its open session
        self.claimed: set[str] = set()  # bays whose backend reports sessions itself
        self._seen: set[str] = set()  # bays observed at least once (fresh) this run

    def restore(self, sessions: Iterable[Open]) -> None:
        """Sessions open before a restart: they go on with their ids and start readings."""
        for current in sessions:
            if current.start.bay in self._where:
                self.open[current.start.bay] = current
                self._seen.add(current.start.bay)

    def claim(self, bays: Iterable[str]) -> None:
        """These bays' sessions are reported by their backend (`started`/`ended`)."""
        self.claimed |= set(bays)

    # --- observed (Modbus, CAN, sim) ----------------------------------------------------
    def observe(
        self,
        statuses: Iterable[BayStatus],
        now: float,
        context: Callable[[str], Context] = _no_context,
    ) -> list[Record]:
        out: list[Record] = []
        for st in statuses:
            if st.bay in self.claimed or st.bay not in self._where or st.grade is not Grade.FRESH:
                continue
            first = st.bay not in self._seen
            self._seen.add(st.bay)
            out += self._observe_bay(st, now, first, context)
        return out

    def _observe_bay(
        self, st: BayStatus, now: float, first: bool, context: Callable[[str], Context]
    ) -> list[Record]:
        current = self.open.get(st.bay)
        if current is None:
            if not st.state.in_session:
                return []
            return [self._open_observed(st, now, first, context(st.bay))]
        last = current.last_energy_wh
        if not st.state.in_session:
            stop = _stop_reading(st.energy_delivered_wh, last)
            return [self._close(st.bay, now, stop, END_REASONS[st.state])]
        if (
            st.energy_delivered_wh is not None
            and last is not None
            and st.energy_delivered_wh < last
        ):
            ended = self._close(st.bay, now, last, "counter-reset")
            return [ended, self._open_observed(st, now, False, context(st.bay))]
        if now - current.last_sample_at >= self.meter_every_s:
            return [self._sample(st.bay, _sample_of(st, now))]
        return []

    def _open_observed(self, st: BayStatus, now: float, joined: bool, ctx: Context) -> Record:
        charger, connector = self._where[st.bay]
        start = SessionStarted(
            self._new_id(),
            st.bay,
            charger,
            connector,
            now,
            st.energy_delivered_wh,
            MeterKind.SESSION,
            Origin.OBSERVED,
            id_token=ctx.id_token,
            booking=ctx.booking,
            kind=ctx.kind,
            joined=joined,
        )
        self.open[st.bay] = Open(start, now, st.energy_delivered_wh)
        return start

    # --- reported (OCPP) ----------------------------------------------------------------
    def started(
        self,
        bay: str,
        at: float,
        meter_start_wh: float | None,
        *,
        transaction_id: str | None = None,
        id_token: str | None = None,
        booking: str | None = None,
        kind: str | None = None,
        signed: SignedValue | None = None,
        meter_kind: MeterKind = MeterKind.REGISTER,
    ) -> list[Record]:
        """A backend's session start. A session still open on the bay is closed first
        (`superseded`): its stop was missed, its start must not be lost."""
        if bay not in self._where:
            raise TrackerError(f"session start: unknown bay {bay!r}")
        out: list[Record] = []
        if bay in self.open:
            out.append(self._close(bay, at, None, "superseded"))
        charger, connector = self._where[bay]
        start = SessionStarted(
            self._new_id(),
            bay,
            charger,
            connector,
            at,
            meter_start_wh,
            meter_kind,
            Origin.REPORTED,
            id_token=id_token,
            booking=booking,
            kind=kind,
            transaction_id=transaction_id,
            signed=signed,
        )
        self.open[bay] = Open(start, at, meter_start_wh)
        return [*out, start]

    def meter_values(
        self, bay: str, samples: Iterable[MeterSample], *, transaction_id: str | None = None
    ) -> list[Record]:
        """Every sample the backend was sent, as sent (the charger's interval applies)."""
        self._open_of(bay, transaction_id, "meter values")
        kept = tuple(samples)
        if not kept:
            return []
        return [self._sample(bay, *kept)]

    def ended(
        self,
        bay: str,
        at: float,
        meter_stop_wh: float | None,
        reason: str,
        *,
        transaction_id: str | None = None,
        signed: SignedValue | None = None,
        samples: Iterable[MeterSample] = (),
    ) -> list[Record]:
        """A backend's session stop, with the transaction data sent with it, if any."""
        self._open_of(bay, transaction_id, "session end")
        out = self.meter_values(bay, samples, transaction_id=transaction_id)
        return [*out, self._close(bay, at, meter_stop_wh, reason, signed)]

    def _open_of(self, bay: str, transaction_id: str | None, what: str) -> Open:
        current = self.open.get(bay)
        if current is None:
            raise TrackerError(f"{what}: no open session on bay {bay!r}")
        theirs = current.start.transaction_id
        if transaction_id is not None and theirs is not None and transaction_id != theirs:
            raise TrackerError(
                f"{what}: transaction {transaction_id!r} is not the open one {theirs!r} (bay {bay})"
            )
        return current

    # --- common ---------------------------------------------------------------------------
    def _sample(self, bay: str, *samples: MeterSample) -> MeterValues:
        current = self.open[bay]
        s = current.start
        energy = next((x.energy_wh for x in reversed(samples) if x.energy_wh is not None), None)
        self.open[bay] = replace(
            current,
            last_sample_at=max(x.at for x in samples),
            last_energy_wh=current.last_energy_wh if energy is None else energy,
        )
        return MeterValues(s.session_id, bay, s.charger, s.connector_id, s.transaction_id, samples)

    def _close(
        self,
        bay: str,
        at: float,
        meter_stop_wh: float | None,
        reason: str,
        signed: SignedValue | None = None,
    ) -> SessionEnded:
        current = self.open.pop(bay)
        s = current.start
        stop = current.last_energy_wh if meter_stop_wh is None else meter_stop_wh
        energy = None if stop is None or s.meter_start_wh is None else stop - s.meter_start_wh
        return SessionEnded(
            s.session_id,
            bay,
            s.charger,
            s.connector_id,
            s.at,
            at,
            s.meter_start_wh,
            stop,
            energy,
            s.meter_kind,
            s.origin,
            reason,
            id_token=s.id_token,
            booking=s.booking,
            transaction_id=s.transaction_id,
            signed=signed,
        )


def _stop_reading(reading: float | None, last: float | None) -> float | None:
    """A charger may clear its session counter as the session ends: a reading below the
    last one seen in the session is that reset, not the session's energy."""
    if reading is None or (last is not None and reading < last):
        return last
    return reading


def _sample_of(st: BayStatus, now: float) -> MeterSample:
    return MeterSample(now, st.energy_delivered_wh, st.power_w, st.soc_pct)
