"""What the drain sends next: pure decisions over plain data, `now` passed in.

- Classes in priority order (events, state, telemetry), with a bounded streak so a storm
  of events cannot starve the telemetry backlog for ever.
- Within a class, streams whose head record is live (accepted within `live_s`) go before
  backlog streams; otherwise the oldest head first. Order inside a stream is never changed.
- Telemetry travels in batches bounded by record count and bytes.
- An optional token bucket caps messages per second (cloud quotas).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.uplink.policy import MsgClass

PRIORITY = (MsgClass.EVENT, MsgClass.STATE, MsgClass.TELEMETRY)


def pick_class(
    ready: Mapping[MsgClass, bool], streak: int, max_streak: int = 20
) -> MsgClass | None:
    """The class to send from; `streak` counts picks in a row while telemetry waited."""
    if ready.get(MsgClass.TELEMETRY) and streak >= max_streak:
        return MsgClass.TELEMETRY
    for cls in PRIORITY:
        if ready.get(cls):
            return cls
    return None


@dataclass(frozen=True, slots=True)
class Head:
    id: int
    created: float


def pick_stream(heads: Mapping[str, Head], now: float, live_s: float = 5.0) -> str | None:
    """Live heads first (oldest of them), then the oldest backlog head."""
    if not heads:
        return None
    live = [(h.id, s) for s, h in heads.items() if h.created >= now - live_s]
    pool = live or [(h.id, s) for s, h in heads.items()]
    return min(pool)[1]


def batch_size(sizes: Sequence[int], max_records: int, max_bytes: int) -> int:
    """How many leading records of one stream go in one message (at least one)."""
    total = 0
    for n, size in enumerate(sizes[:max_records]):
        total += size + 1
        if total > max_bytes and n > 0:
            return n
    return max(1, min(len(sizes), max_records))


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """`rate` messages per second with bursts of `burst`; rate 0 means no cap."""

    rate: float
    burst: float
    tokens: float
    at: float

    def take(self, now: float) -> tuple[TokenBucket, float]:
        """Take one token: (new bucket, 0.0) or (unchanged bucket, seconds to wait)."""
        if self.rate <= 0:
            return self, 0.0
        tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        if tokens >= 1.0:
            return TokenBucket(self.rate, self.burst, tokens - 1.0, now), 0.0
        return TokenBucket(self.rate, self.burst, tokens, now), (1.0 - tokens) / self.rate


def bucket(rate: float, now: float) -> TokenBucket:
    burst = max(1.0, rate)  # up to one second's worth at once
    return TokenBucket(rate, burst, burst, now)


# PUBACK reason codes that will not change by sending the same message again: not
# authorized, topic name invalid, packet too large, payload format invalid. Anything else
# (quota exceeded, unspecified, implementation specific...) is retried, with backoff, for ever.
PERMANENT_REFUSALS = frozenset({0x87, 0x90, 0x95, 0x99})


def refusal_is_permanent(code: int) -> bool:
    return code in PERMANENT_REFUSALS


def refusal_backoff_s(failures: int) -> float:
    """Pause before resending after a refusal: 1, 2, 4 ... 30 s."""
    return float(min(30, 2 ** max(0, failures - 1)))
