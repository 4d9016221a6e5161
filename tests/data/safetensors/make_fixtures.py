#!/usr/bin/env python3
"""Writes the safetensors fixtures of tests/core/test_safetensors.cpp into this folder.

The format is written by hand with struct, not with the safetensors library, so the fixtures
test our reader against the specification rather than against another implementation's quirks:
8-byte little-endian header length N, N bytes of JSON header (space-padded to a multiple of 8),
then the data buffer that "data_offsets" index.

valid.safetensors holds one tensor of most dtypes plus metadata; the test checks its values.
Every other file breaks one rule; the test expects a larimar::UserError naming that problem.
Run: python3 make_fixtures.py   (deterministic: rerunning gives identical bytes)
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header_bytes(header):
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return text + b" " * ((8 - len(text) % 8) % 8)


def pack(header_raw, data):
    return struct.pack("<Q", len(header_raw)) + header_raw + data


def build(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes), laid out in order."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data


def valid():
    tensors = [
        ("weight", "F32", [2, 3], struct.pack("<6f", *[0.5 * i - 1.0 for i in range(6)])),
        ("ids", "I64", [4], struct.pack("<4q", 1, -2, 3, 1 << 40)),
        ("half", "F16", [2, 2], struct.pack("<4e", 1.0, -0.5, 65504.0, 0.0)),
        ("bf", "BF16", [2], struct.pack("<2H", 0x3F80, 0xC000)),  # 1.0, -2.0
        ("mask", "BOOL", [3], bytes([1, 0, 1])),
        ("empty", "U8", [0], b""),
        ("scalar", "F64", [], struct.pack("<d", 3.25)),
    ]
    header, data = build(tensors, {"format": "pt", "note": "larimar test fixture"})
    return pack(header_bytes(header), data)


def raw_header(header_text, data):
    """A header given as text, padded, so a fixture can hold what json.dumps would never write."""
    raw = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    return pack(raw + b" " * ((8 - len(raw) % 8) % 8), data)


def one(entry, data, extra=None):
    header = {"a": entry}
    if extra:
        header.update(extra)
    return pack(header_bytes(header), data)


def main():
    good = valid()
    (header_len,) = struct.unpack("<Q", good[:8])
    garbled = bytearray(good)
    garbled[8 + good[8:8 + header_len].index(b":")] = ord("#")
    f32x2 = struct.pack("<2f", 1.0, 2.0)

    files = {
        "valid.safetensors": good,
        "empty.safetensors": b"",
        "too_short.safetensors": b"\x10\x00\x00\x00\x00",
        "truncated_header.safetensors": good[:8 + header_len // 2],
        "truncated_data.safetensors": good[:-5],
        "garbled_json.safetensors": bytes(garbled),
        "huge_header_length.safetensors": struct.pack("<Q", 1 << 40) + b'{"a":1}',
        "header_not_object.safetensors": raw_header("[1, 2, 3]", b""),
        "invalid_utf8_name.safetensors": raw_header(
            b'{"a\xff":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', b"\x00"),
        "wrong_dtype.safetensors": one({"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}, f32x2),
        "shape_mismatch.safetensors": one({"dtype": "F32", "shape": [3, 3], "data_offsets": [0, 8]}, f32x2),
        "negative_dim.safetensors": one({"dtype": "F32", "shape": [-1, 2], "data_offsets": [0, 8]}, f32x2),
        "shape_overflow.safetensors": one(
            {"dtype": "F32", "shape": [1 << 62, 1 << 62, 0], "data_offsets": [0, 0]}, b""),
        "offsets_out_of_range.safetensors": one({"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}, f32x2),
        "offsets_reversed.safetensors": one({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}, f32x2),
        "offsets_not_pair.safetensors": one({"dtype": "F32", "shape": [2], "data_offsets": [0]}, f32x2),
        "overlapping.safetensors": one(
            {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, f32x2 + b"\x00" * 4,
            {"b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}),
        "gap.safetensors": one(
            {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, f32x2 + b"\x00" * 12,
            {"b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}),
        "trailing_bytes.safetensors": one({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, f32x2 + b"junk"),
        "duplicate_name.safetensors": raw_header(
            '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
            '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32x2 + f32x2),
        "metadata_not_string.safetensors": one(
            {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, f32x2, {"__metadata__": {"epoch": 3}}),
    }
    for name, content in sorted(files.items()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(content)


if __name__ == "__main__":
    main()
