"""Bays and chargers taken out of service (maintenance), as plain data. Pure, no I/O.

Entries are keyed by target (a bay id or a charger id); a charger out of service takes
all its bays with it. The state is persisted by the uplink, published on the retained
`state/bay-availability` topic and shown in `edge status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.siteconf.model import SiteConfig

Entries = dict[str, dict[str, Any]]


def target_kind(config: SiteConfig, target: str) -> str:
    if any(b.id == target for b in config.bays):
        return "bay"
    if any(c.id == target for c in config.chargers):
        return "charger"
    raise ValueError(f"bay-availability: {target!r} is neither a bay nor a charger of this site")


def apply_change(
    entries: Mapping[str, Mapping[str, Any]],
    config: SiteConfig,
    args: Mapping[str, Any],
    now_iso: str,
) -> Entries:
    """The new entries after one `bay-availability` command (validated args)."""
    target = str(args["target"])
    kind = target_kind(config, target)
    out: Entries = {k: dict(v) for k, v in entries.items()}
    if args["available"]:
        out.pop(target, None)
    else:
        out[target] = {
            "kind": kind,
            "reason": str(args.get("reason", "")),
            "since": now_iso,
            "expected_end": args.get("expected_end"),
        }
    return out


def unavailable_bays(entries: Mapping[str, Mapping[str, Any]], config: SiteConfig) -> list[str]:
    out = {b.id for b in config.bays if b.id in entries or b.charger in entries}
    return sorted(out)


def state_payload(entries: Mapping[str, Mapping[str, Any]], config: SiteConfig) -> dict[str, Any]:
    return {
        "out_of_service": {k: dict(v) for k, v in sorted(entries.items())},
        "unavailable_bays": unavailable_bays(entries, config),
    }
