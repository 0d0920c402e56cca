"""How much of an RS-485 line a poll plan uses. Pure arithmetic, no I/O.

One Modbus RTU transaction occupies the line for the request frame, the device's turnaround,
the reply frame and the silent gaps (3.5 character times before each frame; fixed 1.75 ms
above 19200 baud, as the Modbus serial line spec allows). A character is 1 start bit, 8 data
bits, a parity bit unless parity is N, and the stop bits: 11 bits for the standard 8E1, 10
for 8N1. ptys ignore baud rates, so these figures describe the real line, not a test rig.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from edge.drivers.modbus_profile import Table

# Device turnaround assumed in planning: the optimistic end of what meters need (5-50 ms).
DEFAULT_TURNAROUND_S = 0.005


@dataclass(frozen=True, slots=True)
class Framing:
    baud: int
    parity: str = "E"  # N | E | O
    stopbits: int = 1

    @property
    def bits_per_char(self) -> int:
        return 1 + 8 + (0 if self.parity == "N" else 1) + self.stopbits

    @property
    def char_s(self) -> float:
        return self.bits_per_char / self.baud

    @property
    def gap_s(self) -> float:
        return 0.00175 if self.baud > 19200 else 3.5 * self.char_s


@dataclass(frozen=True, slots=True)
class Transaction:
    table: Table
    count: int  # registers or bits
    write: bool = False


def frame_bytes(tx: Transaction) -> tuple[int, int]:
    """(request, reply) sizes in bytes, unit id and CRC included."""
    data = 2 * tx.count if tx.table.is_register else math.ceil(tx.count / 8)
    if not tx.write:
        return 8, 5 + data  # addr fc start(2) count(2) crc(2) / addr fc bytes data crc(2)
    if tx.count == 1:
        return 8, 8  # FC5/FC6 echo the request
    return 9 + data, 8  # FC15/FC16: addr fc start count bytes data crc / addr fc start count crc


def reply_s(framing: Framing, tx: Transaction) -> float:
    """Time for the reply frame alone: how long a late reply already on its way keeps coming."""
    return frame_bytes(tx)[1] * framing.char_s + framing.gap_s


def transaction_s(
    framing: Framing, tx: Transaction, turnaround_s: float = DEFAULT_TURNAROUND_S
) -> float:
    request, reply = frame_bytes(tx)
    return (request + reply) * framing.char_s + 2 * framing.gap_s + turnaround_s


def utilisation(
    framing: Framing,
    plan: Iterable[tuple[Transaction, float]],
    turnaround_s: float = DEFAULT_TURNAROUND_S,
) -> float:
    """Share of the line's time a plan of (transaction, period_s) needs; above 1 it cannot run."""
    return sum(transaction_s(framing, tx, turnaround_s) / period for tx, period in plan)


def reads_per_second(framing: Framing, registers: int, turnaround_s: float = 0.0) -> float:
    """The line's ceiling for back-to-back reads of `registers` holding registers."""
    return 1.0 / transaction_s(framing, Transaction(Table.HOLDING, registers), turnaround_s)
