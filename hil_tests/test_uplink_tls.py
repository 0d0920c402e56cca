"""TLS with client certificates from a CA the test makes; a wrong certificate is refused
by the broker and reported by the link; a broker outside the pinned CA is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil_tests.broker import Broker
from hil_tests.certs import ScratchCa
from hil_tests.harness import hub, tail, until

pytestmark = pytest.mark.hil


@pytest.fixture
def tls_broker(tmp_path: Path) -> tuple[Broker, ScratchCa]:
    ca = ScratchCa(tmp_path / "pki")
    crt, key = ca.issue("broker", server=True)
    extra = (
        f"cafile {ca.cert_file}\ncertfile {crt}\nkeyfile {key}\n"
        "require_certificate true\ntls_version tlsv1.2\n"
    )
    b = Broker(tmp_path / "broker", extra=extra)
    b.start()
    yield b, ca  # type: ignore[misc]
    b.stop()


async def test_client_certificate_accepted_and_delivers(
    tls_broker: tuple[Broker, ScratchCa], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    assert broker.url.startswith("mqtts://")
    hub_crt, hub_key = ca.issue("hub")
    tail_crt, tail_key = ca.issue("cloud")
    async with (
        tail(broker.url, ca_file=ca.cert_file, cert_file=tail_crt, key_file=tail_key) as t,
        hub(broker.url, tmp_path, ca_file=ca.cert_file, cert_file=hub_crt, key_file=hub_key) as h,
    ):
        msg_id = await h.outbox.accept("events/session", {"tls": True})
        await until(lambda: msg_id in t.checker.seen, 30, "event over TLS")


async def test_wrong_client_certificate_refused_and_reported(
    tls_broker: tuple[Broker, ScratchCa], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    rogue = ScratchCa(tmp_path / "rogue", "rogue-ca")
    crt, key = rogue.issue("intruder")
    async with hub(broker.url, tmp_path, ca_file=ca.cert_file, cert_file=crt, key_file=key) as h:
        await h.outbox.accept("events/session", {"never": "delivered"})
        await until(lambda: bool(h.link.last_error), 30, "an error reported")
        await until(lambda: h.link.connections >= 3, 30, "several attempts, all refused")
        assert not h.link.connected.is_set()
        assert h.link.state != "connected"
        assert "mqtts://127.0.0.1" in h.link.last_error
        assert "certificate" in h.link.last_error
        assert h.outbox.counts  # the event stays in the outbox
        print("reported:", h.link.last_error)


async def test_broker_outside_pinned_ca_refused(
    tls_broker: tuple[Broker, ScratchCa], tmp_path: Path
) -> None:
    broker, ca = tls_broker
    other = ScratchCa(tmp_path / "other", "other-ca")
    crt, key = ca.issue("hub2")
    async with hub(broker.url, tmp_path, ca_file=other.cert_file, cert_file=crt, key_file=key) as h:
        await until(lambda: "CERTIFICATE_VERIFY_FAILED" in h.link.last_error, 30, "pin refusal")
        assert not h.link.connected.is_set()
