"""Batch decryption gives, token for token, what `MultiFernet.decrypt` gives: valid, forged, tampered or malformed."""

from __future__ import annotations

import base64
import struct

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms import fernet_tokens

# Fixed keys, so that the one-off cases below decrypt the same way on every run.
NEWEST, OLDER, UNKNOWN = (base64.urlsafe_b64encode(bytes(range(start, start + 32))) for start in (0, 64, 128))
# Signs as NEWEST does but encrypts with a key of its own: NEWEST verifies its tokens and (almost always)
# finds bad padding, so they are decrypted by this key, the next one: MultiFernet's fall-through.
SAME_SIGNING = base64.urlsafe_b64encode(base64.urlsafe_b64decode(NEWEST)[:16] + bytes(range(200, 216)))
KEYS = [NEWEST, SAME_SIGNING, OLDER]
IV = bytes(range(16))


def signed(key: bytes, body: bytes, iv: bytes) -> bytes:
    """A token framed and signed as Fernet does, around any `body` (no padding added, any length)."""
    signing = base64.urlsafe_b64decode(key)[:16]
    frame = b"\x80" + struct.pack(">Q", 1_700_000_000) + iv + body
    check = HMAC(signing, hashes.SHA256())
    check.update(frame)
    return base64.urlsafe_b64encode(frame + check.finalize())


def encrypted_blocks(key: bytes, plaintext: bytes, iv: bytes) -> bytes:
    """CBC encryption of `plaintext` (whole blocks) without padding: its last block decrypts to any padding."""
    encryption = base64.urlsafe_b64decode(key)[16:]
    encryptor = Cipher(algorithms.AES(encryption), modes.CBC(iv)).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize()


keys = st.sampled_from([NEWEST, SAME_SIGNING, OLDER, UNKNOWN])
ivs = st.binary(min_size=16, max_size=16)
valid = st.builds(lambda key, text: Fernet(key).encrypt(text), keys, st.binary(max_size=80))
whole_blocks = st.integers(0, 5).flatmap(lambda count: st.binary(min_size=16 * count, max_size=16 * count))
badly_padded = st.builds(
    lambda key, plaintext, iv: signed(key, encrypted_blocks(key, plaintext, iv), iv), keys, whole_blocks, ivs
)
# Bodies of any length, and frames too short to hold an IV (`iv` cut short).
odd_frames = st.builds(
    lambda key, body, iv, cut: signed(key, body, iv[:cut]), keys, st.binary(max_size=40), ivs, st.integers(0, 16)
)


@st.composite
def tampered(draw: st.DrawFn) -> bytes:
    token = draw(valid)
    frame = bytearray(base64.urlsafe_b64decode(token))
    how = draw(st.sampled_from(["flip", "truncate", "version", "text"]))
    if how == "flip":
        at = draw(st.integers(0, len(frame) - 1))
        frame[at] ^= draw(st.integers(1, 255))
    elif how == "truncate":
        del frame[draw(st.integers(0, len(frame) - 1)) :]
    elif how == "version":
        frame[0] = draw(st.integers(0, 255))
    else:  # characters base64 passes over, or padding it refuses
        encoded = base64.urlsafe_b64encode(bytes(frame))
        at = draw(st.integers(0, len(encoded)))
        return encoded[:at] + draw(st.sampled_from([b"!", b"\n", b" ", b"=", b"==", b"+", b"/"])) + encoded[at:]
    return base64.urlsafe_b64encode(bytes(frame))


tokens = valid | badly_padded | odd_frames | tampered() | st.binary(max_size=120) | st.text(max_size=60).map(str.encode)


def multi_fernet(token: bytes) -> bytes | type[ValueError] | None:
    try:
        return MultiFernet([Fernet(key) for key in KEYS]).decrypt(token)
    except InvalidToken:
        return None
    except ValueError:  # a signed frame too short to hold an IV (see transforms/fernet_tokens.py)
        return ValueError


@settings(max_examples=300)
@given(st.lists(tokens, max_size=12))
def test_each_token_decrypts_to_what_multifernet_gives_and_only_a_signed_frame_without_iv_differs(batch):
    expected = [multi_fernet(token) for token in batch]

    decrypted = fernet_tokens.decrypt(batch, [key.decode() for key in KEYS])

    assert decrypted == [None if result is ValueError else result for result in expected]
    for token, result in zip(batch, expected, strict=True):
        if result is ValueError:
            assert len(base64.urlsafe_b64decode(token)) < 9 + 16 + 32


def test_a_batch_mixes_keys_padding_faults_and_the_fall_through_to_the_next_key():
    fall_through = b"same signing key, other encryption key" + b"\x0a" * 10
    batch = [
        Fernet(NEWEST).encrypt(b"newest"),
        Fernet(OLDER).encrypt(b"older"),
        signed(SAME_SIGNING, encrypted_blocks(SAME_SIGNING, fall_through, IV), IV),
        Fernet(UNKNOWN).encrypt(b"no key of ours"),
        signed(NEWEST, encrypted_blocks(NEWEST, b"\x00" * 31 + b"\x11", IV), IV),  # padding byte 17
        signed(OLDER, encrypted_blocks(OLDER, b"a" * 29 + b"\x03\x03\x03", IV), IV),  # valid padding, built by hand
    ]

    decrypted = fernet_tokens.decrypt(batch, [key.decode() for key in KEYS])

    assert decrypted == [b"newest", b"older", b"same signing key, other encryption key", None, None, b"a" * 29]
    assert decrypted == [multi_fernet(token) for token in batch]
