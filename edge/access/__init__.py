"""Site-access decisions: bookings, bay assignment, admission, identification and the gate
lane state machine. Pure code (see docs/access.md).

Like edge/power, it may import only the standard library's pure modules, edge.readings,
edge.sessions and edge.siteconf.model (checked by tests/test_layering.py).
"""
