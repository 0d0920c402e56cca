"""wss: with `cert_file` and `key_file` on the ocpp link the endpoint speaks TLS (OCPP
security profile 2: TLS plus HTTP Basic); a client trusting the site's CA boots over it, and
a plain ws:// client gets no handshake."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import websockets

from hil_tests.certs import ScratchCa
from tests.ocpp_peers import PASSWORD, endpoint

pytestmark = pytest.mark.hil


async def test_wss_with_the_sites_certificate(tmp_path: Path) -> None:
    ca = ScratchCa(tmp_path / "ca")
    cert, key = ca.issue("127.0.0.1", server=True)
    extra = f'cert_file = "{cert}"\nkey_file = "{key}"\n'
    async with endpoint(tmp_path, extra) as site:
        trust = ssl.create_default_context(cafile=str(ca.cert_file))
        url = f"wss://CP16:{PASSWORD}@127.0.0.1:{site.port()}/ocpp/CP16"
        async with websockets.connect(url, subprotocols=["ocpp1.6"], ssl=trust) as ws:  # type: ignore[list-item]
            await ws.send(BOOT)
            assert (await ws.recv()).startswith('[3,"boot-1",')  # a BootNotification answer
        row = next(r for r in site.health(site.clock.monotonic()) if r["device"] == "CP16")
        assert row["endpoint"].startswith("wss://")
        plain = f"ws://CP16:{PASSWORD}@127.0.0.1:{site.port()}/ocpp/CP16"
        with pytest.raises((websockets.InvalidMessage, OSError, EOFError)):
            await websockets.connect(plain, subprotocols=["ocpp1.6"], open_timeout=5)  # type: ignore[list-item]


BOOT = '[2,"boot-1","BootNotification",{"chargePointModel":"HYC","chargePointVendor":"Alpi"}]'
