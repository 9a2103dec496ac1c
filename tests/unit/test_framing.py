"""ABCI socket framing: unsigned varint length prefixes and splitting a byte stream into frames."""

from __future__ import annotations

import pytest

from abci_app.framing import MAX_FRAME_BYTES, FrameError, decode_uvarint, encode_uvarint, split_frames


def frame(payload: bytes) -> bytes:
    return encode_uvarint(len(payload)) + payload


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2**63, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
        (2**64 - 1, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
    ],
)
def test_uvarint_known_encodings(value: int, encoded: bytes) -> None:
    """Known values encode to the protobuf varint bytes and decode back, consuming exactly those bytes."""
    assert encode_uvarint(value) == encoded
    assert decode_uvarint(encoded, 0) == (value, len(encoded))
    # Decoding at an offset inside a larger buffer reports the position after the varint.
    assert decode_uvarint(b"\xaa" + encoded + b"\x05", 1) == (value, 1 + len(encoded))


def test_uvarint_round_trips_over_a_range_of_values() -> None:
    """Every power of two (and its neighbours) up to 2^64 - 1 round-trips through encode/decode."""
    for bit in range(64):
        for value in (2**bit - 1, 2**bit, 2**bit + 1):
            if value >= 2**64:
                continue
            raw = encode_uvarint(value)
            assert len(raw) == max(1, (value.bit_length() + 6) // 7)
            assert decode_uvarint(raw, 0) == (value, len(raw))


def test_uvarint_truncated_returns_none() -> None:
    """A buffer that ends inside a varint (continuation bit set on the last byte) decodes to None."""
    assert decode_uvarint(b"", 0) is None
    assert decode_uvarint(b"\x80", 0) is None
    assert decode_uvarint(encode_uvarint(2**40)[:-1], 0) is None


def test_uvarint_longer_than_ten_bytes_is_rejected() -> None:
    """A varint whose tenth byte still has the continuation bit is a FrameError, not a huge number."""
    with pytest.raises(FrameError):
        decode_uvarint(b"\x80" * 10 + b"\x01", 0)
    with pytest.raises(FrameError):
        decode_uvarint(b"\xff" * 11, 0)


def test_split_frames_byte_at_a_time() -> None:
    """A stream fed one byte at a time yields each frame exactly once, when its last byte arrives."""
    payloads = [b"", b"a", b"hello world", bytes(range(256)) * 3]
    stream = b"".join(frame(p) for p in payloads)
    buf = bytearray()
    got: list[bytes] = []
    for i in range(len(stream)):
        buf += stream[i : i + 1]
        got.extend(split_frames(buf))
    assert got == payloads
    assert buf == bytearray()


def test_split_frames_many_frames_in_one_read_keeps_the_partial_tail() -> None:
    """Many complete frames in one read come out in order; a trailing partial frame stays buffered."""
    payloads = [f"request-{i}".encode() * (i % 7 + 1) for i in range(500)]
    tail = frame(b"partial-frame-payload")
    buf = bytearray(b"".join(frame(p) for p in payloads) + tail[:-3])
    assert split_frames(buf) == payloads
    assert bytes(buf) == tail[:-3]
    buf += tail[-3:]
    assert split_frames(buf) == [b"partial-frame-payload"]
    assert not buf


def test_split_frames_large_frame() -> None:
    """A multi-megabyte frame arriving in chunks is reassembled intact."""
    payload = bytes(range(256)) * (5 * 4096)  # 5 MiB
    stream = frame(payload) + frame(b"next")
    buf = bytearray()
    got: list[bytes] = []
    chunk = 65_536
    for i in range(0, len(stream), chunk):
        buf += stream[i : i + chunk]
        got.extend(split_frames(buf))
    assert len(got) == 2
    assert got[0] == payload
    assert got[1] == b"next"


def test_split_frames_over_limit_length_is_rejected() -> None:
    """A declared length above the limit is a FrameError as soon as the prefix is readable."""
    buf = bytearray(encode_uvarint(1_001) + b"x" * 10)
    with pytest.raises(FrameError):
        split_frames(buf, max_frame=1_000)
    with pytest.raises(FrameError):
        split_frames(bytearray(encode_uvarint(MAX_FRAME_BYTES + 1)))
    # Exactly at the limit is fine.
    ok = bytearray(frame(b"y" * 1_000))
    assert split_frames(ok, max_frame=1_000) == [b"y" * 1_000]


def test_split_frames_overlong_varint_is_rejected() -> None:
    """An 11-byte length prefix in the stream is a FrameError."""
    with pytest.raises(FrameError):
        split_frames(bytearray(b"\xff" * 10 + b"\x01" + b"payload"))
