"""Cloud uplink: a durable outbox, an MQTT link, a drain between them, and cloud commands.

Layering: `policy`, `ordering`, `envelope` and the command decisions are pure; `outbox`
(aiosqlite) and `mqtt_adapter` (paho-mqtt) are the only modules that touch a library.
"""
