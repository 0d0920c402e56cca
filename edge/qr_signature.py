"""Ed25519 for the signed QR tokens of site access: the one module that touches `cryptography`.

The pure verifier (`edge.access.qr_token`) takes a `VerifiesSignature`; `SiteKeys` is that,
over the site's public keys by key id (a key id lets the cloud rotate keys without a gap).
`TokenIssuer` signs tokens; the cloud does this in production, tests and `edge demo` here.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge.access.qr_token import Claims, body_of, signed_message, token_text


class KeyInvalid(ValueError):
    """A configured public key that is not a 32-byte Ed25519 key."""


class SiteKeys:
    """The site's Ed25519 public keys; verifies offline."""

    def __init__(self, public_keys: Mapping[int, bytes]) -> None:
        self._keys: dict[int, Ed25519PublicKey] = {}
        for key_id, raw in public_keys.items():
            if len(raw) != 32:
                raise KeyInvalid(f"qr key {key_id}: {len(raw)} bytes, an Ed25519 key has 32")
            self._keys[key_id] = Ed25519PublicKey.from_public_bytes(raw)

    @classmethod
    def from_hex(cls, public_keys: Mapping[int, str]) -> SiteKeys:
        try:
            return cls({k: bytes.fromhex(v) for k, v in public_keys.items()})
        except ValueError as exc:
            raise KeyInvalid(f"qr keys: not hex ({exc})") from exc

    def verify(self, key_id: int, message: bytes, signature: bytes) -> bool:
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class TokenIssuer:
    """Signs QR tokens with one private key (tests, demo; the cloud in production)."""

    def __init__(self, key_id: int = 1, private_key: Ed25519PrivateKey | None = None) -> None:
        self.key_id = key_id
        self._key = private_key or Ed25519PrivateKey.generate()

    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def issue(self, booking_id: str, not_before: int, expires: int, nonce: str = "") -> str:
        claims = Claims(self.key_id, not_before, expires, nonce or secrets.token_hex(8), booking_id)
        body = body_of(claims)
        return token_text(body, self._key.sign(signed_message(body)))
