"""Every truck a test places stays overnight, whatever the hour the test runs at.

The site's `[sessions]` defaults take a truck arriving outside the overnight window for a
45-minute break, and break trucks on the default want are served earliest departure first
(docs/power.md, step 4), not as equals: a test that expects trucks to share would pass at
night only. The window set here is the whole day but the hour starting an hour from now
(a test's trucks arrive long before it)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def overnight_all_day(text: str, now: float | None = None) -> str:
    """The site file's text with its overnight window as above (its `timezone`'s hours)."""
    zone = re.search(r'^timezone = "([^"]+)"', text, re.M)
    assert zone is not None, "the site file names no timezone"
    local = datetime.fromtimestamp(time.time() if now is None else now, ZoneInfo(zone.group(1)))
    window = {
        "overnight_from": (local + timedelta(hours=2)).strftime("%H:%M"),
        "overnight_until": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    for key, value in window.items():
        text, n = re.subn(rf'^{key} = "[^"]*"', f'{key} = "{value}"', text, flags=re.M)
        assert n == 1, f"{key} not found once in the site file"
    return text
