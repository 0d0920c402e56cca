"""A simulated charge point's configuration: the keys (1.6) / variables (2.0.1) it knows,
their values, and the answers a CSMS gets when it reads or changes them.

One table serves both versions: a 1.6 configuration key and the 2.0.1 component/variable
that means the same (OCPP 1.6 §9.1 standard configuration keys; OCPP 2.0.1 Part 2
Appendix 3, referenced components and variables). The answers follow the standards:

| change | 1.6 ChangeConfiguration | 2.0.1 SetVariables |
|---|---|---|
| key / variable unknown | NotSupported | UnknownComponent / UnknownVariable |
| attribute other than Actual | - | NotSupportedAttributeType |
| read-only, or a value out of range | Rejected | Rejected |
| takes effect at the next connection | RebootRequired (stored) | RebootRequired (stored) |
| otherwise | Accepted, in effect at once | Accepted, in effect at once |

Only what the simulated charge point really honours is writable: the heartbeat and meter
value intervals (used by its loops on their next turn) and the websocket ping interval
(used when it next connects, hence RebootRequired).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.sim.ocpp_config import V16, CpConfig

HEARTBEAT = "HeartbeatInterval"
METER_SAMPLE = "MeterValueSampleInterval"
PING = "WebSocketPingInterval"


@dataclass(frozen=True, slots=True)
class Key:
    name: str  # the 1.6 configuration key
    component: str  # its 2.0.1 component and variable ("": a 1.6 key only)
    variable: str
    readonly: bool = False
    reboot: bool = False  # a change applies at the next connection
    minimum: int = 0  # writable keys are integers (seconds) from this up


KEYS = (
    Key(HEARTBEAT, "OCPPCommCtrlr", "HeartbeatInterval", minimum=1),
    Key(METER_SAMPLE, "SampledDataCtrlr", "TxUpdatedInterval"),  # 0: no periodic values
    Key(PING, "OCPPCommCtrlr", "WebSocketPingInterval", reboot=True),  # 0: no pings
    Key("NumberOfConnectors", "", "", readonly=True),  # 2.0.1 counts EVSE components
    Key("ChargeProfileMaxStackLevel", "SmartChargingCtrlr", "ProfileStackLevel", readonly=True),
    Key("ChargingScheduleAllowedChargingRateUnit", "SmartChargingCtrlr", "RateUnit", True),
)
_BY_NAME = {k.name: k for k in KEYS}
_BY_VARIABLE = {(k.component, k.variable): k for k in KEYS if k.component}
_COMPONENTS = {k.component for k in KEYS if k.component}


class Variables:
    """The values, by 1.6 key name (strings, as both versions carry them)."""

    def __init__(self, config: CpConfig) -> None:
        v16 = config.version == V16
        self.values = {  # the configured intervals as given: the tests' are below 1 s
            HEARTBEAT: f"{config.heartbeat_s:g}",
            METER_SAMPLE: f"{config.meter_every_s:g}",
            PING: "20",  # websockets' default ping interval
            "NumberOfConnectors": str(len(config.connectors)),
            "ChargeProfileMaxStackLevel": "8",
            "ChargingScheduleAllowedChargingRateUnit": "Current,Power" if v16 else "A,W",
        }

    def seconds(self, name: str) -> float:
        return float(self.values[name])

    # ---- 1.6 ---------------------------------------------------------------------------

    def change(self, name: str, value: str) -> str:
        """ChangeConfiguration: Accepted, Rejected, RebootRequired or NotSupported."""
        key = _BY_NAME.get(name)
        if key is None:
            return "NotSupported"
        return self._write(key, value)

    def get(self, names: list[str] | None) -> tuple[list[dict[str, object]], list[str]]:
        """GetConfiguration: (configuration_key entries, unknown keys); all when no names."""
        wanted = names or [k.name for k in KEYS]
        known = [
            {"key": n, "readonly": _BY_NAME[n].readonly, "value": self.values[n]}
            for n in wanted
            if n in _BY_NAME
        ]
        return known, [n for n in wanted if n not in _BY_NAME]

    # ---- 2.0.1 -------------------------------------------------------------------------

    def set(self, component: str, variable: str, value: str, attribute: str = "Actual") -> str:
        """One SetVariables item's attribute_status."""
        key, why = self._find(component, variable, attribute)
        if key is None:
            return why
        return self._write(key, value)

    def read(
        self, component: str, variable: str, attribute: str = "Actual"
    ) -> tuple[str, str | None]:
        """One GetVariables item: (attribute_status, attribute_value)."""
        key, why = self._find(component, variable, attribute)
        if key is None:
            return why, None
        return "Accepted", self.values[key.name]

    # ---- both --------------------------------------------------------------------------

    def _find(self, component: str, variable: str, attribute: str) -> tuple[Key | None, str]:
        if component not in _COMPONENTS:
            return None, "UnknownComponent"
        key = _BY_VARIABLE.get((component, variable))
        if key is None:
            return None, "UnknownVariable"
        if attribute != "Actual":
            return None, "NotSupportedAttributeType"
        return key, ""

    def _write(self, key: Key, value: str) -> str:
        if key.readonly:
            return "Rejected"
        try:
            number = int(value.strip())
        except ValueError:
            return "Rejected"
        if number < key.minimum:
            return "Rejected"
        self.values[key.name] = str(number)
        return "RebootRequired" if key.reboot else "Accepted"
