"""What one charge point has told us, kept for the port, `edge chargers` and the health page;
its readings go into the process image under the charger device's id, per connector with
the port's point names (`connector_point`), like any driver's.

Status words are event-driven (sent on change), so they are held fresh while the websocket
is open (its pings prove the link) and graded by the age of the last message once it closes.
Meter values are graded by their own age: stale after twice `meter_values_s`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from edge.clock import Clock
from edge.drivers.profile_common import connector_point
from edge.ocpp.ev_needs import EvNeeds
from edge.ocpp.profiles import Sent
from edge.ocpp.rate_unit import Rate
from edge.ocpp.states import CODE, STATE, meter_points
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading

log = logging.getLogger(__name__)

UNITS = {"status": "", "power_w": "W", "session_energy_wh": "Wh", "ev_soc_pct": "%"}
UNITS |= {"power_limit_w": "W", "energy_register_wh": "Wh"}


@dataclass
class Transaction:
    id: str  # 1.6: the integer we gave, as text; 2.0.1: the charger's transactionId
    id_token: str
    meter_start_wh: float | None
    started_at: float  # wall seconds


@dataclass
class Station:
    """One charge point (the charger device `identity`), its connectors by number."""

    identity: str
    charger: str
    bays: dict[int, str]  # connector (1.6) / EVSE id (2.0.1) -> bay id
    version: str = ""  # "1.6" or "2.0.1" once connected
    connected: bool = False
    connects: int = 0
    refusals: int = 0  # handshakes refused (wrong password)
    last_message_at: float | None = None  # monotonic
    vendor: str = ""
    model: str = ""
    firmware: str = ""
    messages_in: int = 0
    errors_out: int = 0  # CALLERRORs we answered
    profiles_sent: int = 0
    profiles_rejected: int = 0
    last_rejection: str = ""
    words: dict[int, str] = field(default_factory=dict)  # connector -> last status word
    transactions: dict[int, Transaction] = field(default_factory=dict)
    sent: dict[int, Sent] = field(default_factory=dict)  # connector -> last accepted profile
    plugs: dict[int, str] = field(default_factory=dict)  # 2.0.1 ConnectorStatus per EVSE
    charging: dict[int, str] = field(default_factory=dict)  # 2.0.1 ChargingState per EVSE
    # 2.0.1 NotifyEVChargingNeeds per EVSE, until its transaction ends or it is Available
    needs: dict[int, EvNeeds] = field(default_factory=dict)
    standing_valid_to: float | None = None
    standing_ok: bool = False
    rate: Rate = field(default_factory=Rate)  # the unit its profiles go in (edge/ocpp/rate_unit.py)

    def bay_connector(self, bay: str) -> int:
        return next(c for c, b in self.bays.items() if b == bay)

    def tx_of(self, connector: int) -> str | None:
        tx = self.transactions.get(connector)
        return tx.id if tx is not None else None


class StationImage:
    """Writes a station's values into the process image, with the right freshness."""

    def __init__(self, image: ProcessImage, clock: Clock, meter_values_s: float) -> None:
        self.image = image
        self.clock = clock
        self.meter_stale_s = 2.0 * meter_values_s

    def _put(self, st: Station, connector: int, name: str, value: float, stale: float) -> None:
        reading = Reading(value, UNITS.get(name, ""), Quality.OK, self.clock.monotonic(), stale)
        self.image.put(st.identity, connector_point(name, connector), reading)

    def heard(self, st: Station) -> None:
        """Any message: the charge point is alive; its status words are current."""
        st.last_message_at = self.clock.monotonic()
        st.messages_in += 1
        for connector, word in st.words.items():
            self._hold(st, connector, word)

    def _hold(self, st: Station, connector: int, word: str) -> None:
        """The status, and 0 W for a connector out of session (it says it delivers nothing;
        chargers send meter values during transactions only)."""
        self._put(st, connector, "status", CODE[word], float("inf"))
        if not STATE[word].in_session:
            self._put(st, connector, "power_w", 0.0, float("inf"))

    def status(self, st: Station, connector: int, word: str) -> None:
        if word not in CODE:
            log.warning(
                "ocpp_status_unknown charger=%s connector=%d word=%s", st.identity, connector, word
            )
            word = "Unavailable"
        if connector == 0:  # the whole charge point: every connector reports its own too
            return
        st.words[connector] = word
        self._hold(st, connector, word)

    def meter(self, st: Station, connector: int, meter_value: list[dict[str, Any]]) -> None:
        points = meter_points(meter_value)
        tx = st.transactions.get(connector)
        register = points.get("energy_register_wh")
        if tx is not None and register is not None:
            if tx.meter_start_wh is None:
                tx.meter_start_wh = register  # 2.0.1: the first reading opens the count
            points["session_energy_wh"] = max(0.0, register - tx.meter_start_wh)
        for name, value in points.items():
            self._put(st, connector, name, value, self.meter_stale_s)

    def gone(self, st: Station) -> None:
        """The websocket closed: from now on the values age from the last message."""
        at = self.clock.monotonic()
        self.image.mark_device(st.identity, at)
