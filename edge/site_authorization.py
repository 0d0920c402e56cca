"""Authorization in the daemon: the authorizer over the local store and the bookings, and,
with an uplink, its two commands (`auth-list-update`, `authorize-reply`) and the cloud
asked through `req/authorize`.

Split from `edge/runtime.py` like `edge/site_access.py`: only assembly. The OCPP endpoint
calls `Daemon.authorizer.authorize(id_token, bay)`.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from edge.auth.authorizer import Authorizer

if TYPE_CHECKING:
    from edge.runtime import Daemon


def make_authorizer(d: Daemon) -> Authorizer:
    auth = Authorizer(
        d.config.authorization, d.clock.wall, store=d.availability.store, bookings=d.bookings
    )
    if d.uplink is not None:
        from edge.uplink import authorization  # noqa: PLC0415 (paho only with an uplink)
        from edge.uplink.commands import load_schema  # noqa: PLC0415

        u = d.uplink
        ask = authorization.CloudAsk(u.link, u.prefix, d.config.site_id, d.clock)
        auth.cloud = ask
        u.registry.register(
            "auth-list-update",
            load_schema("cmd-auth-list-update.json"),
            functools.partial(authorization.list_update, auth),
        )
        u.registry.register("authorize-reply", load_schema("cmd-authorize-reply.json"), ask.reply)
    return auth


async def start_authorization(d: Daemon) -> None:
    """The stored list (after the availability owner opened the store)."""
    await d.authorizer.load()
