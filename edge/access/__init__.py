"""Site-access decisions (admission, bay assignment, gate state machine): pure code.

Not built yet: the site-access issue fills this package. Like edge/power, it may import only
the standard library's pure modules and edge.readings (checked by tests/test_layering.py).
"""
