"""Framing of serial credential readers (QR scanners, RFID readers), pure.

A frame is an optional STX (0x02), a payload of printable ASCII, an optional ETX (0x03), then
CR, LF or CR LF. Anything else is refused, never guessed at: a byte outside printable ASCII
spoils the frame, a payload longer than the kind allows is dropped whole (the parser skips
to the next terminator, so an endless stream cannot grow memory), and a partial frame that
goes quiet for longer than `timeout_s` is dropped (a reader unplugged mid-frame must not
glue two reads together).
Bytes in, frames and rejections out; `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

STX, ETX, CR, LF = 0x02, 0x03, 0x0D, 0x0A


class Rejected(StrEnum):
    OVERSIZED = "oversized"  # longer than the kind's limit
    BAD_BYTE = "bad-byte"  # a control or non-ASCII byte inside the frame
    BAD_FORMAT = "bad-format"  # framed, but not what this kind of reader sends
    TIMEOUT = "timeout"  # a partial frame went quiet for longer than timeout_s
    EMPTY = "empty"  # a terminator with nothing before it


@dataclass(frozen=True, slots=True)
class FrameRules:
    max_len: int  # payload characters
    timeout_s: float  # the longest quiet gap inside a frame
    shape: Callable[[str], bool]  # what a payload of this kind looks like


_DIGITS = "0123456789"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_QR_CHARS = frozenset(_DIGITS + _LETTERS + _LETTERS.upper() + "_.~:=+/-")
_HEX = frozenset(_DIGITS + "abcdefABCDEF")


def qr_shaped(text: str) -> bool:
    """QR tokens are base64url text with separators (edge/access/qr_token.py)."""
    return all(c in _QR_CHARS for c in text)


def uid_shaped(text: str) -> bool:
    """RFID UIDs: 4, 7 or 10 bytes in hex (ISO/IEC 14443-3 single, double, triple size)."""
    return len(text) in (8, 14, 20) and all(c in _HEX for c in text)


QR_RULES = FrameRules(512, 1.0, qr_shaped)  # 512 leaves room for any issuer's token
RFID_RULES = FrameRules(20, 0.5, uid_shaped)


@dataclass(frozen=True, slots=True)
class Frame:
    payload: str
    at: float  # when its last byte arrived


@dataclass(frozen=True, slots=True)
class Refusal:
    why: Rejected
    at: float
    length: int  # payload bytes seen (a sample of the content is never logged)


@dataclass(frozen=True, slots=True)
class Framer:
    rules: FrameRules
    buf: bytes = b""
    started: float | None = None  # latest byte of the current frame (None: no frame)
    spoilt: Rejected | None = None  # the current frame is refused; skip to its terminator
    seen: int = 0  # payload bytes of the current frame (counted even when not kept)
    ended: bool = False  # ETX seen: only the terminator may follow


Out = Frame | Refusal


def feed(framer: Framer, data: bytes, now: float) -> tuple[Framer, list[Out]]:
    """Take the bytes that arrived at `now`; return the framer and what completed."""
    out: list[Out] = []
    framer = expire(framer, now, out)
    for byte in data:
        framer = _byte(framer, byte, now, out)
    return framer, out


def expire(framer: Framer, now: float, out: list[Out]) -> Framer:
    """Drop a partial frame that went quiet too long (call it on idle reads too)."""
    if framer.started is not None and now - framer.started > framer.rules.timeout_s:
        out.append(Refusal(Rejected.TIMEOUT, now, framer.seen))
        return Framer(framer.rules)
    return framer


def _byte(framer: Framer, byte: int, now: float, out: list[Out]) -> Framer:
    if byte in (CR, LF):
        if framer.started is not None or framer.spoilt is not None:
            out.append(_finish(framer, now))
        elif byte == CR:
            out.append(Refusal(Rejected.EMPTY, now, 0))
        return Framer(framer.rules)  # LF after CR: nothing pending, nothing reported
    started = now  # the last byte's time: a frame may stream long, but not stall
    if byte == STX and framer.seen == 0 and framer.spoilt is None:
        return replace(framer, started=started)
    if byte == ETX and framer.spoilt is None and not framer.ended:
        return replace(framer, started=started, ended=True)
    framer = replace(framer, started=started, seen=framer.seen + 1)
    if framer.spoilt is not None:
        return framer
    if not 0x20 <= byte <= 0x7E or framer.ended:
        return replace(framer, buf=b"", spoilt=Rejected.BAD_BYTE)
    if framer.seen > framer.rules.max_len:
        return replace(framer, buf=b"", spoilt=Rejected.OVERSIZED)
    return replace(framer, buf=framer.buf + bytes([byte]))


def _finish(framer: Framer, now: float) -> Out:
    if framer.spoilt is not None:
        return Refusal(framer.spoilt, now, framer.seen)
    text = framer.buf.decode("ascii")
    if not text:
        return Refusal(Rejected.EMPTY, now, 0)
    if not framer.rules.shape(text):
        return Refusal(Rejected.BAD_FORMAT, now, framer.seen)
    return Frame(text, now)
