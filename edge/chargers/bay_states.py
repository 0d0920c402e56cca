"""Charger status words onto `BayState`: one vocabulary for every profile.

A profile's status point carries `labels` (code -> word, from its datasheet); the port maps
the word, never the code, so a new charger is a profile file whose words are in this table
(a test checks every shipped charger profile). A code without a label, or a word not in the
table, is `unavailable`: a bay the controller does not understand gets no power.

Per profile (docs/chargers.md has the same table):

| word | BayState | alpitronic-hyc | edgehub cabinets |
|---|---|---|---|
| available / ready / reserved | available | 0, 7 | 1 |
| preparing-tag-id-ready, preparing-ev-ready / occupied | occupied | 1, 2 | 6 |
| charging / derated / fallback | charging | 3 | 2, 3, 5 |
| suspended-ev | suspended-ev | 4 | 7 |
| suspended-evse | suspended-evse | 5 | 8 |
| finishing | finishing | 6 | 9 |
| faulted / fault | faulted | 10 | 4 |
| unavailable* / off | unavailable | 8, 9, 11 | 0 |
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.sessions import BayState

WORDS: Mapping[str, BayState] = {
    "available": BayState.AVAILABLE,
    "ready": BayState.AVAILABLE,  # cabinet connector free and healthy
    "reserved": BayState.AVAILABLE,  # held for a booking; no truck, no session
    "preparing-tag-id-ready": BayState.OCCUPIED,
    "preparing-ev-ready": BayState.OCCUPIED,
    "occupied": BayState.OCCUPIED,
    "charging": BayState.CHARGING,
    "derated": BayState.CHARGING,  # charging below the limit (the cabinet's own derating)
    "fallback": BayState.CHARGING,  # charging at the cabinet's fallback power (no controller)
    "suspended-ev": BayState.SUSPENDED_EV,
    "suspended-evse": BayState.SUSPENDED_EVSE,
    "finishing": BayState.FINISHING,
    "faulted": BayState.FAULTED,
    "fault": BayState.FAULTED,
    "unavailable": BayState.UNAVAILABLE,
    "unavailable-fw-update": BayState.UNAVAILABLE,
    "unavailable-connection-object": BayState.UNAVAILABLE,
    "off": BayState.UNAVAILABLE,
}


def bay_state(labels: Mapping[int, str], code: float) -> tuple[BayState, str]:
    """The BayState for a raw status code, and the word shown to the operator."""
    word = labels.get(int(code)) if float(code).is_integer() else None
    if word is None:
        return BayState.UNAVAILABLE, f"unknown code {code:g}"
    return WORDS.get(word, BayState.UNAVAILABLE), word
