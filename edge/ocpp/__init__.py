"""The edge as the site's OCPP endpoint: charge points (OCPP 1.6J and 2.0.1) connect here.

`server` (websockets, the handshake's checks), `connection` (frames in, bounded), `v16` and
`v201` (the messages of each version), `station` (what a charge point told us, into the
process image), `states` and `profiles` (pure: status words onto `BayState`, which profile
to send), `backend` (the charger port over SetChargingProfile) and `site` (the assembly).
The `ocpp` and `websockets` packages are imported by `connection`, `server`, `v16` and
`v201` only. docs/ocpp.md has the protocol facts and the settings.
"""
