#!/usr/bin/env python3
"""Writes tests/data/quant_vectors.json: TFLite's QuantizeMultiplier results and int8/uint8
LOGISTIC/TANH lookup tables for a few configurations, computed here in plain Python (stdlib
only), independently of npugen's Rust model and generator. tests/quant_vectors.rs pins both
the golden model and the generated RTL's constants (multipliers, ROM contents) to this data.

Run from the repository root: python3 scripts/make-quant-vectors.py
"""

import json
import math


def round_half_away(x):
    """std::round / TfLiteRound: ties away from zero."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier(real):
    """TFLite's QuantizeMultiplier for 0 < real < 1: (Q31 multiplier, right shift)."""
    q, e = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        e += 1
    return q_fixed, -e


def out_range(bits, signed):
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def table(activation, bits, signed, zero_point, step):
    """TFLite's quantized LOGISTIC (output scale 2^-bits) and TANH (2^-(bits-1)) outputs for
    every input code q, the input being (q - zero_point) * step."""
    lo, hi = out_range(bits, signed)
    out = []
    for q in range(lo, hi + 1):
        x = (q - zero_point) * step
        if activation == "sigmoid":
            y = round_half_away((1.0 / (1.0 + math.exp(-x))) * (1 << bits)) + lo
        else:
            y = round_half_away(math.tanh(x) * (1 << (bits - 1))) + (lo + hi + 1) // 2
        out.append(min(max(y, lo), hi))
    return out


SCALES = [0.5, 0.25, 0.00731, 0.0003, 0.003, 0.01, 0.05, 1.0 / 3.0, 0.999, 2.0 ** -31, 1e-5]
TABLES = [
    ("sigmoid", 8, True, 0, 0.125),
    ("tanh", 8, True, 0, 0.02),
    ("sigmoid", 6, True, 0, 0.25),
    ("tanh", 8, False, 128, 0.03),
]

data = {
    "generator": "scripts/make-quant-vectors.py",
    "quantize_multiplier": [
        {"scale": s, "multiplier": m, "shift": sh}
        for s in SCALES
        for (m, sh) in [quantize_multiplier(s)]
    ],
    "tables": [
        {
            "activation": a,
            "out_bits": b,
            "out_signed": sg,
            "zero_point": zp,
            "lut_input_scale": st,
            "table": table(a, b, sg, zp, st),
        }
        for (a, b, sg, zp, st) in TABLES
    ],
}
with open("tests/data/quant_vectors.json", "w") as f:
    json.dump(data, f, indent=1)
    f.write("\n")
