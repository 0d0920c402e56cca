"""The billing records as plain types: what `events/session` and `events/meter-values` carry.

Meter readings are the charger's, as it sent them: `energy_wh` is either its energy
register (`MeterKind.REGISTER`, cumulative over the charger's life, what OCPP's meterStart
and meterStop are) or its count for this session (`MeterKind.SESSION`, what a Modbus or CAN
charger reports, starting near 0). A signed value (OCMF, or OCPP's signedMeterValue) is kept
byte for byte, so the energy can be verified later against the meter's public key.

Times are UTC epoch seconds; the wire format (`edge/billing/wire.py`) writes RFC 3339.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MeterKind(StrEnum):
    REGISTER = "register"  # the meter's cumulative register (OCPP meterStart / meterStop)
    SESSION = "session"  # the charger's count for this session (Modbus, CAN)


class Origin(StrEnum):
    OBSERVED = "observed"  # found from the bay states each control cycle (Modbus, CAN, sim)
    REPORTED = "reported"  # told by the charger's backend (OCPP Start/Stop, TransactionEvent)


@dataclass(frozen=True, slots=True)
class SignedValue:
    """A signed meter value exactly as the charger sent it."""

    data: str  # OCPP 1.6 SampledValue.value with format SignedData; 2.0.1 signedMeterData
    format: str = ""  # e.g. "OCMF", "EDL", or "" when the charger does not say
    signing_method: str = ""  # 2.0.1 signingMethod
    encoding_method: str = ""  # 2.0.1 encodingMethod
    public_key: str = ""  # 2.0.1 publicKey, when the charger sends it


@dataclass(frozen=True, slots=True)
class MeterSample:
    at: float
    energy_wh: float | None  # the reading (see MeterKind); None: the charger gave none
    power_w: float | None = None
    soc_pct: float | None = None
    signed: SignedValue | None = None
    context: str = "periodic"  # periodic, start, stop, trigger, clock (OCPP ReadingContext)


@dataclass(frozen=True, slots=True)
class SessionStarted:
    session_id: str
    bay: str
    charger: str
    connector_id: int
    at: float
    meter_start_wh: float | None
    meter_kind: MeterKind
    origin: Origin
    id_token: str | None = None
    booking: str | None = None
    kind: str | None = None  # break, overnight, booked (edge.sessions.SessionKind)
    transaction_id: str | None = None  # the charger's (OCPP transactionId)
    signed: SignedValue | None = None  # the signed start reading, when given
    joined: bool = False  # first seen already running (after a restart): times are when seen


@dataclass(frozen=True, slots=True)
class MeterValues:
    session_id: str
    bay: str
    charger: str
    connector_id: int
    transaction_id: str | None
    samples: tuple[MeterSample, ...]


@dataclass(frozen=True, slots=True)
class SessionEnded:
    session_id: str
    bay: str
    charger: str
    connector_id: int
    started_at: float
    at: float
    meter_start_wh: float | None
    meter_stop_wh: float | None
    energy_wh: float | None  # meter_stop - meter_start; None if either is unknown
    meter_kind: MeterKind
    origin: Origin
    reason: str
    id_token: str | None = None
    booking: str | None = None
    transaction_id: str | None = None
    signed: SignedValue | None = None  # the signed stop reading, when given


Record = SessionStarted | MeterValues | SessionEnded
