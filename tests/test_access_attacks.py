"""The attack table of docs/access.md, played against the pure core: credential reads go
through `entry` (screen, identify, decide) into the lane machine, as the shell will wire them.

Counted: attacks tried, wrongful opens (an OPEN command the attack should not get; must be 0)
and trucks trapped (a truck inside whose exit does not open or hold open; must be 0).
`pytest -s` prints the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from edge.access.admission import Policy, Site, VehicleClass, by_start
from edge.access.bookings import (
    Booking,
    BookingInvalid,
    BookingStatus,
    Credentials,
    Period,
    Phase,
    Terms,
    merge,
    validate,
)
from edge.access.credentials import RemoteVerdict, Spent, check_remote
from edge.access.entry import (
    CredentialRead,
    Directory,
    EntryRules,
    Ledger,
    Outcome,
    ReadKind,
    entry,
    exit_,
)
from edge.access.gate_machine import boot, step
from edge.access.gate_types import (
    Cmd,
    Event,
    EventKind,
    GateState,
    IllegalEvent,
    Lane,
    LaneConfig,
    Sensors,
)
from edge.access.matching import Demand
from edge.qr_signature import SiteKeys, TokenIssuer
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide

T0 = 1_767_225_600.0
E = EventKind
ISSUER = TokenIssuer(key_id=1)
RULES = EntryRules(SiteKeys({1: ISSUER.public_bytes()}))
BAYS = [Bay("b1", "p1", "c1", Connector.CCS, 400, (InletSide.LEFT,))]
CCS_LEFT = Demand(None, frozenset({(Connector.CCS, InletSide.LEFT)}))


def booking(i: int, plate: str, start: float = T0, **kw: object) -> Booking:
    b = Booking(
        id=f"bk{i}",
        version=1,
        period=Period(start, start + 3600),
        connector=Connector.CCS,
        inlet_side=InletSide.LEFT,
        plot="p1",
        credentials=Credentials(tractor_plate=plate, trailer_plate=f"TRL{i}"),
        terms=Terms(early_start_s=600, noshow_timeout_s=900),
    )
    return replace(b, **kw)  # type: ignore[arg-type]


@dataclass
class Hub:
    """One entry lane and one exit lane of a one-bay plot, driven event by event."""

    bookings: list[Booking]
    now: float = T0
    states: dict[str, BayState] = field(default_factory=lambda: {"b1": BayState.AVAILABLE})
    policy: Policy = field(default_factory=Policy)
    ledger: Ledger = field(default_factory=Ledger)
    opens: int = 0
    lanes: dict[str, Lane] = field(default_factory=dict)
    log: list[Cmd] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, is_exit in (("in", False), ("out", True)):
            cfg = LaneConfig(name, exit=is_exit, run_time_s=20, clear_s=1, pass_timeout_s=30)
            self.lanes[name], _ = boot(Lane.new(cfg, Sensors(), self.now), self.now)

    def site(self) -> Site:
        return Site(BAYS, self.states, by_start(self.bookings))

    def ev(self, kind: EventKind, on: bool = True, lane: str = "in", **kw: object) -> list[Cmd]:
        event = Event(kind, on, **kw)  # type: ignore[arg-type]
        try:
            self.lanes[lane], cmds = step(self.lanes[lane], event, self.now)
        except IllegalEvent:
            return []  # e.g. a decision for a lane whose vehicle left: nothing happens
        kinds = [c.kind for c in cmds]
        self.opens += kinds.count(Cmd.OPEN)
        self.log += kinds
        return kinds

    def present(self, read: CredentialRead, ad_hoc: Demand | None = CCS_LEFT) -> Outcome:
        """A vehicle on loop A shows a credential; the decision goes to the lane."""
        if not self.lanes["in"].sensors.loop_a:
            self.ev(E.LOOP_A)
        self.ev(E.READ)
        rules = replace(RULES, policy=self.policy)
        directory = Directory.build(self.bookings)
        self.ledger, out = entry(
            self.ledger, read, self.site(), directory, "p1", self.now, rules, ad_hoc
        )
        if out.event is not None and self.lanes["in"].state is GateState.IDENTIFYING:
            self.ev(E.IDENTIFIED)
            self.ev(out.event.kind, detail=out.event.detail)
        return out

    def drive_through(self, lane: str = "in") -> None:
        """The vehicle at the lane goes through an open boom and the boom closes."""
        self.ev(E.CLOSED, False, lane)
        self.ev(E.OPENED, True, lane)
        self.ev(E.LOOP_B, True, lane)
        self.ev(E.LOOP_A, False, lane)
        self.now += 3
        self.ev(E.LOOP_B, False, lane)
        self.now += 2
        self.ev(E.TICK, lane=lane)
        self.ev(E.OPENED, False, lane)
        self.ev(E.CLOSED, True, lane)

    def leave(self) -> None:
        """A refused vehicle turns away before the barrier."""
        self.ev(E.LOOP_A, False)

    def exit_with(self, plate: str) -> bool:
        """A truck inside leaves; True if the exit barrier opened or held open for it."""
        self.ev(E.LOOP_A, True, "out")
        self.ev(E.READ, lane="out")
        read = CredentialRead(ReadKind.PLATE, plate, "cam-out", self.now)
        self.ledger, _ = exit_(self.ledger, read, Directory.build(self.bookings), self.now)
        self.ev(E.IDENTIFIED, lane="out")
        kinds = self.ev(E.GRANT, lane="out")  # exits always open; unmatched ones are flagged
        return Cmd.OPEN in kinds or Cmd.HOLD_OPEN in kinds


def plate(value: str, now: float, **kw: object) -> CredentialRead:
    truck = VehicleClass.TRUCK
    return CredentialRead(ReadKind.PLATE, value, "cam-in", now, vehicle=truck, **kw)  # type: ignore[arg-type]


def qr(value: str, now: float) -> CredentialRead:
    return CredentialRead(ReadKind.QR, value, "qr-in", now)


Result = tuple[int, int]  # (wrongful opens, trucks trapped)


def cloned_plate_while_original_inside() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AB123CD", hub.now))
    hub.drive_through()
    legit = hub.opens
    hub.now += 60
    hub.present(plate("AB-123-CD", hub.now))  # the clone
    return hub.opens - legit, 0


def booked_plate_outside_its_window_when_full() -> Result:
    hub = Hub([booking(1, "AB123CD", start=T0 + 5 * 3600), booking(2, "ZZ999ZZ", start=T0 + 900)])
    hub.present(plate("AB123CD", hub.now))
    return hub.opens, 0


def confusable_plate_of_a_booking_not_active() -> Result:
    hub = Hub([booking(1, "AB123CD", start=T0 + 5 * 3600), booking(2, "ZZ999ZZ", start=T0 + 900)])
    hub.present(plate("A8123CD", hub.now))  # fuzzy never reaches an inactive booking
    return hub.opens, 0


def plate_between_two_confusable_bookings() -> Result:
    hub = Hub([booking(1, "AB123CD"), booking(2, "A8123CD")])
    hub.present(plate("AB123C0", hub.now))
    return hub.opens, 0


def non_plate_text_read_as_plate() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AUDI∞∞", hub.now))
    hub.present(CredentialRead(ReadKind.PLATE, "C00D", "cam-in", hub.now, "e2", VehicleClass.OTHER))
    return hub.opens, 0


def replayed_camera_event() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AB123CD", hub.now, event_id="uuid-1"))
    hub.drive_through()
    legit = hub.opens
    hub.now += 2
    hub.present(plate("AB123CD", hub.now - 2, event_id="uuid-1"))  # webhook retry, other car
    return hub.opens - legit, 0


def old_camera_event_on_an_empty_loop() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.ev(E.READ)  # nothing on loop A: the lane ignores it
    hub.present(plate("AB123CD", hub.now - 600, event_id="uuid-9"))  # 10 minutes old
    return hub.opens, 0


def qr_used_twice() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    code = ISSUER.issue("bk1", int(T0 - 60), int(T0 + 3600))
    hub.present(qr(code, hub.now))
    hub.drive_through()
    legit = hub.opens
    hub.now += 30
    hub.present(qr(code, hub.now))  # the screenshot, shown by another driver
    return hub.opens - legit, 0


def expired_qr() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(qr(ISSUER.issue("bk1", int(T0 - 7200), int(T0 - 3600)), hub.now))
    return hub.opens, 0


def qr_with_a_flipped_byte() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    code = ISSUER.issue("bk1", int(T0 - 60), int(T0 + 3600))
    flipped = code[:40] + ("0" if code[40] != "0" else "1") + code[41:]
    hub.present(qr(flipped, hub.now))
    return hub.opens, 0


def malformed_and_oversized_reader_frames() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    for junk in ("", "EQ1", "EQ1" + "A" * 64_000, "EQ1\x00\x00", "'; DROP TABLE", "EQ1ZZ"):
        hub.present(qr(junk, hub.now))
        hub.now += 6  # past the debounce window: each frame is judged, none opens
    return hub.opens, 0


def card_held_at_the_reader() -> Result:
    hub = Hub([booking(1, "AB123CD", credentials=Credentials(rfid_uid="04AABBCC"))])
    for i in range(40):
        hub.present(CredentialRead(ReadKind.RFID, "04aabbcc", "rfid-in", hub.now))
        hub.now += 0.5
        if i == 10:
            hub.drive_through()
    return hub.opens - 1, 0


def clock_stepped_forward_mid_booking() -> Result:
    hub = Hub([booking(1, "AB123CD"), booking(2, "ZZ999ZZ", start=T0 + 9000)])
    hub.now += 2 * 3600 + 900  # the booking's window has lapsed; the only bay is needed
    hub.present(plate("AB123CD", hub.now))
    return hub.opens, 0


def clock_one_day_behind_at_boot() -> Result:
    hub = Hub([booking(1, "AB123CD")], now=T0 - 86_400)
    hub.present(qr(ISSUER.issue("bk1", int(T0 - 60), int(T0 + 3600)), hub.now))
    return hub.opens, 0


def untrusted_clock_booked_window() -> Result:
    hub = Hub([booking(1, "AB123CD")], policy=Policy(time_trusted=False))
    hub.present(plate("AB123CD", hub.now))
    return hub.opens, 0


def tailgating_under_one_grant() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AB123CD", hub.now))
    hub.ev(E.CLOSED, False)
    hub.ev(E.OPENED)
    for _ in range(2):  # A-B-A-B: two vehicles
        hub.ev(E.LOOP_B)
        hub.ev(E.LOOP_A, False)
        hub.now += 2
        hub.ev(E.LOOP_B, False)
        hub.now += 1.5
        hub.ev(E.TICK)
        hub.ev(E.LOOP_A)
    assert Cmd.ALARM in hub.log
    return hub.opens - 1, 0


def stale_remote_open_after_reconnect() -> Result:
    hub = Hub([])
    hub.ev(E.LOOP_A)
    issued = hub.now
    hub.now += 600  # queued while offline, delivered ten minutes later
    _, verdict = check_remote(Spent(), "n-1", issued + 30, hub.now)
    if verdict is RemoteVerdict.OK:
        hub.ev(E.OVERRIDE, detail="cloud", not_after=issued + 30)
    hub.ev(E.OVERRIDE, detail="cloud", not_after=issued + 30)  # even if the shell forgot
    return hub.opens, 0


def restart_with_a_truck_on_the_loop() -> Result:
    cfg = LaneConfig("in", exit=False)
    _, cmds = boot(Lane.new(cfg, Sensors(loop_a=True, closed=True), T0), T0)
    exit_cfg = LaneConfig("out", exit=True)
    lane, _ = boot(Lane.new(exit_cfg, Sensors(loop_a=True, closed=True), T0), T0)
    _, fault = step(lane, Event(E.IO_LOST), T0 + 1)  # the I/O link dies: exit fails open
    trapped = int(Cmd.HOLD_OPEN not in [c.kind for c in fault])
    return [c.kind for c in cmds].count(Cmd.OPEN), trapped


def detector_fault_with_a_truck_under_the_boom() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AB123CD", hub.now))
    hub.ev(E.CLOSED, False)
    hub.ev(E.OPENED)
    hub.ev(E.LOOP_B)
    hub.ev(E.DETECTOR_FAULT)
    hub.ev(E.LOOP_B, False)  # a failed detector cannot be believed
    hub.now += 5
    hub.ev(E.TICK)
    assert Cmd.CLOSE not in hub.log
    hub.lanes["out"], cmds = step(hub.lanes["out"], Event(E.DETECTOR_FAULT), hub.now)
    return hub.opens - 1, int(Cmd.HOLD_OPEN not in [c.kind for c in cmds])


def exit_with_only_the_trailer_plate_read() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AB123CD", hub.now))
    hub.drive_through()
    hub.now += 3600
    opened = hub.exit_with("TRL1")
    return 0, int(not opened or bool(hub.ledger.inside.since))


def late_cloud_cancel_of_a_truck_on_site() -> Result:
    hub = Hub([booking(1, "AB123CD")])
    hub.present(plate("AB123CD", hub.now))
    hub.drive_through()
    on_site = replace(hub.bookings[0], phase=Phase.ADMITTED, phase_at=hub.now)
    stale = replace(on_site, version=2, status=BookingStatus.NO_SHOW, updated_at=hub.now)
    hub.bookings = [merge(on_site, stale).booking]
    opened = hub.exit_with("AB123CD")
    return 0, int(not opened or hub.bookings[0].status is BookingStatus.NO_SHOW)


def booking_data_abuse() -> Result:
    bad = [
        booking(1, "AB123CD", period=Period(T0, T0 - 1)),
        booking(2, "AB123CD", terms=Terms(early_start_s=10 * 86_400)),
        booking(3, "", credentials=Credentials()),
    ]
    accepted = 0
    for b in bad:
        try:
            validate(b)
            accepted += 1
        except BookingInvalid:
            continue
    return accepted, 0


ATTACKS: list[tuple[str, Callable[[], Result]]] = [
    (f.__name__.replace("_", " "), f)
    for f in (
        cloned_plate_while_original_inside,
        booked_plate_outside_its_window_when_full,
        confusable_plate_of_a_booking_not_active,
        plate_between_two_confusable_bookings,
        non_plate_text_read_as_plate,
        replayed_camera_event,
        old_camera_event_on_an_empty_loop,
        qr_used_twice,
        expired_qr,
        qr_with_a_flipped_byte,
        malformed_and_oversized_reader_frames,
        card_held_at_the_reader,
        clock_stepped_forward_mid_booking,
        clock_one_day_behind_at_boot,
        untrusted_clock_booked_window,
        tailgating_under_one_grant,
        stale_remote_open_after_reconnect,
        restart_with_a_truck_on_the_loop,
        detector_fault_with_a_truck_under_the_boom,
        exit_with_only_the_trailer_plate_read,
        late_cloud_cancel_of_a_truck_on_site,
        booking_data_abuse,
    )
]


def test_attack_table() -> None:
    rows = [(name, *attack()) for name, attack in ATTACKS]
    wrongful = sum(r[1] for r in rows)
    trapped = sum(r[2] for r in rows)
    for name, w, t in rows:
        print(f"attack {name:<48} wrongful_opens={w} trapped={t}")
    print(f"attacks tried={len(rows)} wrongful opens={wrongful} trucks trapped={trapped}")
    assert [r for r in rows if r[1] or r[2]] == []


def test_the_legitimate_paths_do_open() -> None:
    """The harness can see an open: a booked plate, a valid QR, an ad hoc truck with room."""
    for read in (
        plate("AB123CD", T0),
        qr(ISSUER.issue("bk1", int(T0 - 60), int(T0 + 3600)), T0),
    ):
        hub = Hub([booking(1, "AB123CD")])
        hub.present(read)
        assert hub.opens == 1
    hub = Hub([])
    out = hub.present(
        CredentialRead(ReadKind.PLATE, "NEW1", "cam-in", T0, None, VehicleClass.ELECTRIC_TRUCK)
    )
    assert out.decision is not None
    assert out.decision.admitted
    assert hub.opens == 1
