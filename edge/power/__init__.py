"""Power decisions: pure functions over frozen data, `now` passed in. No I/O, no asyncio."""
