"""Signed QR tokens: format and verification, with the signature check injected.

Text: "EQ1" + upper-case hex of `body || signature` (QR alphanumeric mode holds it densely).
Body, big-endian: key id (1 byte) | not_before (8, UTC s) | expires (8) | nonce (8) |
booking id length (1, 1-64) | booking id (UTF-8). The signature is Ed25519 over
b"EQ1" + body, made by the cloud with the site's key and checked offline with its public key.
A token is valid from not_before to expires (with `skew_s` of clock tolerance), at most
`max_validity_s` long, and single use: its nonce is spent when the gate grants entry.

The pure core never imports a crypto library: the check is a `VerifiesSignature` given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from edge.access.credentials import Spent

PREFIX = "EQ1"
SIG_BYTES = 64
_FIXED = 1 + 8 + 8 + 8 + 1
MAX_TOKEN_CHARS = len(PREFIX) + 2 * (_FIXED + 64 + SIG_BYTES)
_HEX = frozenset("0123456789ABCDEF")


class VerifiesSignature(Protocol):
    def verify(self, key_id: int, message: bytes, signature: bytes) -> bool:
        """True iff `signature` is the site key `key_id`'s signature of `message`."""
        ...


@dataclass(frozen=True, slots=True)
class Claims:
    key_id: int
    not_before: int
    expires: int
    nonce: str  # 16 hex characters
    booking_id: str


class TokenVerdict(StrEnum):
    OK = "ok"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad-signature"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    REPLAYED = "replayed"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    verdict: TokenVerdict
    detail: str
    claims: Claims | None = None


def body_of(claims: Claims) -> bytes:
    """The bytes a token signs (used by the issuer and by the tests)."""
    bid = claims.booking_id.encode()
    if not 1 <= len(bid) <= 64 or len(claims.nonce) != 16:
        raise ValueError("qr token: booking id must be 1-64 bytes and nonce 16 hex digits")
    return (
        claims.key_id.to_bytes(1, "big")
        + claims.not_before.to_bytes(8, "big")
        + claims.expires.to_bytes(8, "big")
        + bytes.fromhex(claims.nonce)
        + len(bid).to_bytes(1, "big")
        + bid
    )


def signed_message(body: bytes) -> bytes:
    return PREFIX.encode() + body


def token_text(body: bytes, signature: bytes) -> str:
    return PREFIX + (body + signature).hex().upper()


def verify_token(
    text: str,
    verifier: VerifiesSignature,
    spent: Spent,
    now: float,
    skew_s: float = 60.0,
    max_validity_s: float = 172_800.0,
) -> TokenCheck:
    """Parse strictly, check the signature, the validity window and single use."""
    parsed = _parse(text)
    if isinstance(parsed, str):
        return TokenCheck(TokenVerdict.MALFORMED, parsed)
    body, signature, claims = parsed
    if not verifier.verify(claims.key_id, signed_message(body), signature):
        return TokenCheck(TokenVerdict.BAD_SIGNATURE, f"key {claims.key_id}: signature invalid")
    if claims.expires - claims.not_before > max_validity_s:
        return TokenCheck(TokenVerdict.MALFORMED, "validity longer than allowed", claims)
    if now < claims.not_before - skew_s:
        return TokenCheck(TokenVerdict.NOT_YET_VALID, "not valid yet", claims)
    if now > claims.expires + skew_s:
        return TokenCheck(TokenVerdict.EXPIRED, "expired", claims)
    if spent.has(claims.nonce):
        return TokenCheck(TokenVerdict.REPLAYED, "already used", claims)
    return TokenCheck(TokenVerdict.OK, "valid", claims)


def signed_claims(text: str, verifier: VerifiesSignature) -> Claims | None:
    """The claims of a genuinely signed token, whatever its validity window or use: at an
    exit, a token spent at the entry still says whose truck leaves."""
    parsed = _parse(text)
    if isinstance(parsed, str):
        return None
    body, signature, claims = parsed
    return claims if verifier.verify(claims.key_id, signed_message(body), signature) else None


def spend(spent: Spent, claims: Claims, now: float, skew_s: float = 60.0) -> Spent:
    """Mark the token used (call when the gate grants entry with it)."""
    return spent.spend(claims.nonce, claims.expires + skew_s, now)


def _parse(text: str) -> tuple[bytes, bytes, Claims] | str:
    if len(text) > MAX_TOKEN_CHARS:
        return f"{len(text)} characters, at most {MAX_TOKEN_CHARS}"
    if not text.startswith(PREFIX):
        return "unknown format"
    digits = text[len(PREFIX) :]
    if len(digits) % 2 or not set(digits) <= _HEX:
        return "not upper-case hex"
    raw = bytes.fromhex(digits)
    if len(raw) < _FIXED + 1 + SIG_BYTES:
        return "too short"
    body, signature = raw[:-SIG_BYTES], raw[-SIG_BYTES:]
    size = body[_FIXED - 1]
    if not 1 <= size <= 64 or len(body) != _FIXED + size:
        return "booking id length does not match"
    try:
        booking_id = body[_FIXED:].decode()
    except UnicodeDecodeError:
        return "booking id is not UTF-8"
    claims = Claims(
        key_id=body[0],
        not_before=int.from_bytes(body[1:9], "big"),
        expires=int.from_bytes(body[9:17], "big"),
        nonce=body[17:25].hex(),
        booking_id=booking_id,
    )
    return body, signature, claims
