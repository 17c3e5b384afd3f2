"""Face templates at rest: sealed with a per-person data key, which the community's KEK wraps.

Two layers so that forgetting one person means deleting one small row, and making every old backup
useless means replacing one key file (rotation re-wraps 40-byte keys, never re-encrypts templates).
The AAD binds a sealed template to its community, person and kind, so a row copied onto another
person, or a plain template swapped for a covered one, fails to open instead of matching.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Binding:
    """Whose template of which kind: authenticated with the ciphertext, never encrypted."""

    community_id: int
    person_id: int
    kind: str

    @property
    def aad(self) -> bytes:
        return f"menjin/face-template/v1/{self.community_id}/{self.person_id}/{self.kind}".encode()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap(kek: bytes, data_key: bytes) -> bytes:
    """RFC 3394 key wrap: authenticated, deterministic, 8 bytes longer than the key."""
    return aes_key_wrap(kek, data_key)


def unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """Raises `cryptography.hazmat.primitives.keywrap.InvalidUnwrap` under the wrong KEK."""
    return aes_key_unwrap(kek, wrapped)


def seal(data_key: bytes, plaintext: bytes, binding: Binding) -> bytes:
    """A fresh random nonce per seal, stored in front of the ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(data_key).encrypt(nonce, plaintext, binding.aad)


def unseal(data_key: bytes, sealed: bytes, binding: Binding) -> bytes:
    """Raises `cryptography.exceptions.InvalidTag` if the data key or binding is not the sealer's."""
    return AESGCM(data_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], binding.aad)
