"""Fernet tokens decrypted a batch at a time: for each, what `MultiFernet(keys).decrypt` returns, for less work.

`cryptography`'s Fernet builds an AES cipher and an unpadder for every token. Here each token's
signature is verified as Fernet does (HMAC-SHA256), and the tokens one key verifies are decrypted
in a single AES pass: CBC decryption is each block's AES decryption XORed with the ciphertext
block before it (the IV before the first), so the blocks of all the tokens go through one ECB
decryptor and are XORed with their predecessors at once. The steps and their order are
MultiFernet's (no `ttl`): keys newest first, and a token a key verifies but that does not decrypt
to valid padding is tried with the next key.

One difference: a token whose signature verifies but which is too short to hold an IV is invalid
here, where `cryptography` raises ValueError (only the key's holder can sign one).
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC

BLOCK = 16
VERSION = 0x80
IV_AT = slice(9, 25)  # after the version byte and the 8-byte timestamp
CIPHERTEXT_AT = slice(25, -32)  # before the 32-byte HMAC-SHA256 signature
SIGNATURE = 32
URL_SAFE = bytes.maketrans(b"-_", b"+/")
PADDINGS = [bytes([size]) * size for size in range(BLOCK + 1)]


def decrypt(tokens: list[bytes], keys: list[str]) -> list[bytes | None]:
    """Each token's plaintext, or None where `MultiFernet(keys).decrypt(token)` raises InvalidToken.

    `keys` are valid Fernet keys (url-safe base64 of 32 bytes), newest first.
    """
    frames = [_frame(token) for token in tokens]
    plaintexts: list[bytes | None] = [None] * len(tokens)
    pending = [index for index, frame in enumerate(frames) if frame is not None]
    for key in keys:
        if not pending:
            break
        secret = base64.urlsafe_b64decode(key)
        signing, encryption = secret[:16], secret[16:]
        signed = [index for index in pending if _signed_by(signing, frames[index])]
        for index, plaintext in zip(signed, _decrypted(encryption, [frames[index] for index in signed]), strict=True):
            plaintexts[index] = plaintext
        pending = [index for index in pending if plaintexts[index] is None]
    return plaintexts


def _frame(token: bytes) -> bytes | None:
    """The token's bytes, or None where Fernet refuses it before any key is tried."""
    try:
        # base64.urlsafe_b64decode, without its checks of the argument's type: the same translation and decoder
        frame = binascii.a2b_base64(token.translate(URL_SAFE), strict_mode=False)
    except binascii.Error:
        return None
    if len(frame) < 9 or frame[0] != VERSION:
        return None
    return frame


def _signed_by(signing: bytes, frame: bytes) -> bool:
    check = HMAC(signing, hashes.SHA256())
    check.update(frame[:-SIGNATURE])
    try:
        check.verify(frame[-SIGNATURE:])
    except InvalidSignature:
        return False
    return True


def _decrypted(encryption: bytes, frames: list[bytes]) -> list[bytes | None]:
    """The unpadded plaintext of each frame (signature already verified), or None where it has no whole blocks
    or its padding is not PKCS7's."""
    bodies = [frame[CIPHERTEXT_AT] for frame in frames]
    whole = [index for index, body in enumerate(bodies) if body and len(body) % BLOCK == 0]
    ciphertext = b"".join(bodies[index] for index in whole)
    before = b"".join(frames[index][IV_AT] + bodies[index][:-BLOCK] for index in whole)
    decrypted = Cipher(algorithms.AES(encryption), modes.ECB()).decryptor().update(ciphertext)
    padded = (int.from_bytes(decrypted, "big") ^ int.from_bytes(before, "big")).to_bytes(len(decrypted), "big")
    plaintexts: list[bytes | None] = [None] * len(frames)
    offset = 0
    for index in whole:
        end = offset + len(bodies[index])
        plaintexts[index] = _unpadded(padded[offset:end])
        offset = end
    return plaintexts


def _unpadded(padded: bytes) -> bytes | None:
    size = padded[-1]
    if 1 <= size <= BLOCK and padded.endswith(PADDINGS[size]):
        return padded[:-size]
    return None
