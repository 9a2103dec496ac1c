"""ABCI socket framing: each message is a protobuf preceded by its length as an unsigned varint."""

from __future__ import annotations

__all__ = ["FrameError", "decode_uvarint", "encode_uvarint", "split_frames"]

MAX_FRAME_BYTES = 256 * 1024 * 1024


class FrameError(ValueError):
    """The byte stream is not valid ABCI framing."""


def encode_uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def decode_uvarint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int] | None:
    """(value, position after it), or None if `buf` ends inside the varint."""
    result = 0
    shift = 0
    end = len(buf)
    while pos < end:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise FrameError("length prefix is longer than 10 bytes")
    return None


def split_frames(buf: bytearray, max_frame: int = MAX_FRAME_BYTES) -> list[bytes]:
    """Remove and return every complete frame at the start of `buf`; a partial one stays."""
    frames = []
    pos = 0
    end = len(buf)
    while pos < end:
        header = decode_uvarint(buf, pos)
        if header is None:
            break
        length, start = header
        if length > max_frame:
            raise FrameError(f"frame of {length} bytes exceeds the {max_frame}-byte limit")
        if start + length > end:
            break
        frames.append(bytes(buf[start : start + length]))
        pos = start + length
    if pos:
        del buf[:pos]
    return frames
