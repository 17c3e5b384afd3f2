"""Face templates on their way to a gate and in its cache: sealed under that gate's own face key.

AES-GCM-SIV with a nonce derived from the credential id makes the sealing deterministic, so a snapshot
rebuilt from the same register is byte-identical and a delta carries only faces that really changed;
SIV stays safe when a nonce repeats (it then reveals only that the same template was sealed twice).
Templates travel as float16: half the bytes, and the scores move by far less than any threshold margin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV

DIMENSIONS = 128


def gate_face_key(server_key: bytes, community: str, gate: str, epoch: int) -> bytes:
    """Re-enrolling a gate (a new epoch) gives it a new key: a stolen gate's old key opens nothing new."""
    return hmac.new(server_key, f"face:{community}:{gate}:{epoch}".encode(), hashlib.sha256).digest()


def _nonce(credential_id: int) -> bytes:
    return hashlib.sha256(f"face-credential:{credential_id}".encode()).digest()[:12]


def seal(key: bytes, credential_id: int, rows: np.ndarray) -> str:
    data = np.ascontiguousarray(rows, dtype="<f2").tobytes()
    return base64.b64encode(
        AESGCMSIV(key).encrypt(_nonce(credential_id), data, str(credential_id).encode())
    ).decode()


def unseal(key: bytes, credential_id: int, sealed: str) -> np.ndarray:
    """The template rows (first plain, then covered); ValueError if the blob was not sealed for this gate."""
    try:
        data = AESGCMSIV(key).decrypt(
            _nonce(credential_id), base64.b64decode(sealed), str(credential_id).encode()
        )
    except (InvalidTag, ValueError) as exc:
        raise ValueError(f"face {credential_id} was not sealed for this gate") from exc
    if not data or len(data) % (2 * DIMENSIONS):
        raise ValueError(f"face {credential_id} has a damaged template")
    return np.frombuffer(data, dtype="<f2").reshape(-1, DIMENSIONS).astype(np.float32)
