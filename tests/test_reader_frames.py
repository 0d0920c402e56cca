"""Serial reader framing: strict frames, length limits, timeouts (pure)."""

from __future__ import annotations

from edge.access.reader_frames import (
    QR_RULES,
    RFID_RULES,
    Frame,
    Framer,
    Refusal,
    Rejected,
    feed,
)


def _run(chunks: list[tuple[bytes, float]], rules=RFID_RULES) -> list[Frame | Refusal]:
    framer = Framer(rules)
    out: list[Frame | Refusal] = []
    for data, now in chunks:
        framer, got = feed(framer, data, now)
        out += got
    return out


def test_plain_and_stx_etx_frames_with_any_line_end() -> None:
    out = _run([(b"04A1B2C3\r\n\x0204a1b2c3d4e5f6\x03\r00112233445566778899\n", 1.0)])
    assert [o.payload for o in out if isinstance(o, Frame)] == [
        "04A1B2C3",
        "04a1b2c3d4e5f6",
        "00112233445566778899",
    ]
    assert all(isinstance(o, Frame) for o in out)


def test_a_frame_split_over_reads_is_joined() -> None:
    out = _run([(b"04A1", 1.0), (b"B2C3\r", 1.2)])
    assert out == [Frame("04A1B2C3", 1.2)]


def test_oversized_frame_is_dropped_whole_and_the_next_one_read() -> None:
    out = _run([(b"A" * 65_536 + b"\r\n04A1B2C3\r\n", 1.0)], QR_RULES)
    assert out[0] == Refusal(Rejected.OVERSIZED, 1.0, 65_536)
    assert out[1] == Frame("04A1B2C3", 1.0)


def test_control_and_non_ascii_bytes_spoil_the_frame() -> None:
    out = _run(
        [(b"04A1\x00B2C3\r\n", 1.0), ("04Ä1B2C3\r\n".encode(), 1.0), (b"04A1B2C3\x03X\r", 1.0)]
    )
    assert [o.why for o in out if isinstance(o, Refusal)] == [Rejected.BAD_BYTE] * 3


def test_wrong_shape_empty_and_sql_text_are_refused() -> None:
    out = _run([(b"04A1B2C\r\r' OR 1=1; --\r\x02\x03\r", 1.0)])
    whys = [o.why for o in out if isinstance(o, Refusal)]
    assert whys == [Rejected.BAD_FORMAT, Rejected.EMPTY, Rejected.BAD_FORMAT, Rejected.EMPTY]


def test_a_partial_frame_that_goes_quiet_is_dropped_not_glued() -> None:
    out = _run([(b"04A1", 1.0), (b"B2C3D4\r", 1.0 + RFID_RULES.timeout_s + 0.1)])
    assert out[0].why is Rejected.TIMEOUT  # type: ignore[union-attr]
    assert out[1] == Refusal(Rejected.BAD_FORMAT, 1.6, 6)  # the tail alone is no UID
