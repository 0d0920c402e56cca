"""Cloud uplink: a durable outbox, an MQTT link, a drain between them, and cloud commands.

Layering: `policy`, `ordering`, `envelope` and the command decisions are pure; the store's
SQL (`outbox_db`, `outbox_salvage`, `records`) runs on one store thread (`store_thread`);
`mqtt_adapter` is the only module that touches paho-mqtt.
"""
