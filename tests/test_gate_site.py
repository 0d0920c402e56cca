"""The site's lanes, readers and ANPR endpoints built from the site file; the bays' states
admission sees (out of service, occupancy sensors)."""

from __future__ import annotations

from pathlib import Path

from edge.access.entry import CredentialRead, ReadKind
from edge.clock import SimClock
from edge.gates.decide import MemoryBookings
from edge.gates.site_lanes import GateLanes
from edge.process_image import ProcessImage
from edge.qr_signature import TokenIssuer
from edge.readings import Quality, Reading
from edge.sessions import BayState
from edge.siteconf import load_site
from tests.test_access_entry import T0, booking
from tests.test_config_strict import DEMO_TEXT, HOLD, _sub


class Output:
    def __init__(self) -> None:
        self.writes: list[tuple[str, float]] = []

    async def write_point(self, name: str, value: float) -> None:
        self.writes.append((name, value))


def test_lanes_readers_endpoints_and_bay_states(write_site) -> None:
    text = _sub(
        HOLD,
        HOLD + '\nreaders = [{ id = "qr-1", kind = "qr", port = "/dev/ttyS9" },'
        ' { id = "cam-1", kind = "anpr", endpoint = "127.0.0.1:0", secret_file = "s" }]',
    )
    text = _sub(
        "connector_id = 1\n", 'connector_id = 1\noccupancy_sensor = "io-gate:input_8"\n', text
    )
    config = load_site(write_site(text))
    clock = SimClock()
    image = ProcessImage(3.0, 10.0)
    out: set[str] = set()
    lanes = GateLanes(config, image, clock, {"io-gate": Output()}, lambda: tuple(out))
    assert sorted(lanes.lanes) == ["entry-main", "exit-main"]
    assert [name for name, _ in lanes.tasks()] == ["gates", "reader-qr-1", "anpr-127.0.0.1:0"]
    states = lanes.bay_states()
    assert states["B01"] is BayState.OCCUPIED  # its sensor not read yet: not offered
    assert states["B02"] is BayState.AVAILABLE
    image.put("io-gate", "input_8", Reading(0.0, "", Quality.OK, clock.monotonic()))
    lanes._snapshot = image.freeze(clock.monotonic(), clock.wall())
    assert lanes.bay_states()["B01"] is BayState.AVAILABLE
    image.put("io-gate", "input_8", Reading(1.0, "", Quality.OK, clock.monotonic()))
    lanes._snapshot = image.freeze(clock.monotonic(), clock.wall())
    out.add("B02")
    assert lanes.bay_states()["B01"] is BayState.OCCUPIED
    assert lanes.bay_states()["B02"] is BayState.UNAVAILABLE


def test_a_lane_whose_output_device_is_missing_is_not_driven(write_site, caplog) -> None:
    config = load_site(write_site(DEMO_TEXT))
    lanes = GateLanes(config, ProcessImage(3.0), SimClock(), {})
    assert lanes.lanes == {}
    assert "gate_not_driven gate=entry-main" in caplog.text


def booms_down(image: ProcessImage, clock: SimClock) -> None:
    """The demo's limit switches (io-gate-limits): both booms at their closed limit."""
    for n in range(1, 5):  # entry open/closed 1/2, exit open/closed 3/4
        reading = Reading(float(n % 2 == 0), "", Quality.OK, clock.monotonic())
        image.put("io-gate-limits", f"input_{n}", reading)


async def test_the_lane_loop_turns_outputs_off_then_boots_from_the_inputs(
    write_site, tmp_path: Path
) -> None:
    config = load_site(write_site(DEMO_TEXT))
    clock = SimClock()
    image = ProcessImage(3.0, 10.0)
    output = Output()
    lanes = GateLanes(config, image, clock, {"io-gate": output})
    for lane in lanes.lanes.values():
        await lane.start()
    await lanes.cycle()
    assert {lane["state"] for lane in lanes.status()["lanes"]} == {"booting"}  # nothing read
    for n in range(1, 9):
        image.put("io-gate", f"input_{n}", Reading(0.0, "", Quality.OK, clock.monotonic()))
    booms_down(image, clock)
    await lanes.cycle()
    assert {lane["state"] for lane in lanes.status()["lanes"]} == {"idle"}
    assert output.writes == [("output_1", 0.0), ("output_2", 0.0)] * 2


async def _armed_entry(write_site, key_hex: str) -> tuple[GateLanes, Output, SimClock]:
    """The demo site with one QR key and a booked truck on the entry lane's arming loop."""
    text = DEMO_TEXT + f'\n[access]\nqr_keys = {{ "1" = "{key_hex}" }}\ndebounce_s = 2.0\n'
    config = load_site(write_site(text))
    assert config.access.qr_keys == {1: key_hex}
    assert config.access.debounce_s == 2.0
    clock, image, output = SimClock(T0), ProcessImage(3.0, 10.0), Output()
    bookings = MemoryBookings([booking(plot="main")])
    lanes = GateLanes(config, image, clock, {"io-gate": output}, bookings=bookings)
    for lane in lanes.lanes.values():
        await lane.start()
    for n in range(1, 9):  # loop A (input_1) occupied, the rest clear
        image.put(
            "io-gate", f"input_{n}", Reading(float(n == 1), "", Quality.OK, clock.monotonic())
        )
    booms_down(image, clock)
    await lanes.cycle()
    assert lanes.lanes["entry-main"].state() == "armed"
    return lanes, output, clock


async def test_a_qr_token_signed_with_the_configured_key_admits_the_booked_truck(
    write_site,
) -> None:
    issuer = TokenIssuer(key_id=1)
    lanes, output, clock = await _armed_entry(write_site, issuer.public_bytes().hex())
    token = issuer.issue("bk1", int(T0) - 60, int(T0) + 600)
    await lanes.lanes["entry-main"].on_read(
        CredentialRead(ReadKind.QR, token, "qr-1", clock.wall())
    )
    assert lanes.lanes["entry-main"].state() == "opening"
    assert ("output_1", 1.0) in output.writes


async def test_a_qr_token_signed_with_another_key_is_refused(write_site) -> None:
    lanes, output, clock = await _armed_entry(
        write_site, TokenIssuer(key_id=1).public_bytes().hex()
    )
    token = TokenIssuer(key_id=1).issue("bk1", int(T0) - 60, int(T0) + 600)
    await lanes.lanes["entry-main"].on_read(
        CredentialRead(ReadKind.QR, token, "qr-1", clock.wall())
    )
    assert lanes.lanes["entry-main"].state() != "opening"
    assert ("output_1", 1.0) not in output.writes
