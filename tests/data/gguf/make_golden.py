#!/usr/bin/env python3
"""Writes quants.gguf and quants.json beside this script: the golden data of test_gguf.

quants.gguf holds a few blocks of every type core/model/gguf.cpp dequantises (F32 F16 BF16 Q8_0
Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K) and one it refuses (Q2_K). quants.json holds, per tensor,
gguf-py's dequantised floats (gguf.quants.dequantize) as hex float32 bit patterns, so the C++
test compares bit for bit, NaNs included.

  - "<type>.quantized": random normal data quantised by gguf.quants.quantize (the legacy types).
  - "<type>.random":    random bytes with every f16 scale (d, dmin, m) replaced by a sane one, so
                        every nibble, high bit and 6-bit scale pattern turns up (all block types;
                        the only kind possible for K-quants, which gguf-py cannot quantise).
  - "F16.special"/"BF16.special": zeros, subnormals, infinities, NaNs and random bit patterns.

Needs: pip install gguf numpy (CI does not run this; the outputs are committed). Deterministic.
"""
import importlib.metadata
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261207)

# Byte offsets of the f16 scale fields inside each block type.
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.Q2_K: [80, 82],
}


def sane_halves(n):
    """Random f16 scales of either sign with magnitudes in [1e-3, 1)."""
    mag = np.exp(rng.uniform(np.log(1e-3), 0.0, n))
    sign = rng.choice([-1.0, 1.0], n)
    return (mag * sign).astype(np.float16)


def random_blocks(qtype, n_blocks):
    block, size = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        raw[:, off:off + 2] = sane_halves(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return raw


def special_bits(kind):
    if kind == "F16":
        fixed = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0200, 0x0400, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF,
                 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7D55, 0xFFFF, 0x3555, 0x0155]
    else:
        fixed = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x3F80, 0xBF80, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0,
                 0x7F81, 0xFFFF, 0x4049, 0x8001, 0x00FF]
    extra = rng.integers(0, 65536, 128 - len(fixed), dtype=np.uint16)
    return np.concatenate([np.array(fixed, dtype=np.uint16), extra])


def main():
    gguf_path = os.path.join(HERE, "quants.gguf")
    writer = gguf.GGUFWriter(gguf_path, arch="golden")
    writer.add_string("golden.note", "made by tests/data/gguf/make_golden.py")
    golden = {}

    def add(name, qtype, data, elem_shape):
        """data: the tensor's bytes (uint8, byte shape) or, for F32, float32 values."""
        writer.add_tensor(name, data, raw_dtype=qtype)
        values = gguf.quants.dequantize(data, qtype).astype(np.float32, copy=False)
        assert values.shape == tuple(elem_shape), (name, values.shape, elem_shape)
        golden[name] = {
            "type": qtype.name,
            "dims": list(reversed(elem_shape)),  # ggml order, innermost first
            "bits": values.reshape(-1).view(np.uint32).astype(">u4").tobytes().hex(),
        }

    f32 = rng.standard_normal((3, 16)).astype(np.float32)
    f32[0, :4] = [0.0, -0.0, np.inf, -np.inf]
    add("F32.values", T.F32, f32, (3, 16))
    for kind, qtype in (("F16", T.F16), ("BF16", T.BF16)):
        bits = special_bits(kind).reshape(2, 64)
        add(kind + ".special", qtype, bits.view(np.uint8), (2, 64))

    legacy = (T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1)
    for qtype in legacy:
        x = (rng.standard_normal((3, 64)) * rng.uniform(0.01, 2.0, (3, 1))).astype(np.float32)
        q = gguf.quants.quantize(x, qtype)
        add(qtype.name + ".quantized", qtype, q, (3, 64))
    for qtype in legacy:
        raw = random_blocks(qtype, 6).reshape(2, -1)  # 2 rows of 3 blocks
        add(qtype.name + ".random", qtype, raw, (2, 96))
    for qtype in (T.Q4_K, T.Q5_K, T.Q6_K, T.Q2_K):
        raw = random_blocks(qtype, 4).reshape(2, -1)  # 2 rows of 2 super-blocks
        add(qtype.name + ".random", qtype, raw, (2, 512))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    with open(os.path.join(HERE, "quants.json"), "w") as f:
        json.dump({"generator": "gguf-py " + importlib.metadata.version("gguf") + ", numpy " + np.__version__,
                   "tensors": golden}, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", gguf_path, os.path.getsize(gguf_path), "bytes;", len(golden), "tensors")


if __name__ == "__main__":
    main()
