"""cocotb testbench for a generated output-stationary array (run by tests/tool_flows.rs).

Streams one M x K by K x N GEMM tile (M = rows, N = cols) through the AXI-Stream ports with
random valid gaps and c_tready back-pressure, and checks every result row against a plain
Python matrix product. Parameters come from the environment: NPU_ROWS, NPU_COLS, NPU_K,
NPU_BITS (signed operand width), NPU_ACC (accumulator width), NPU_SEED.
"""

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

R = int(os.environ["NPU_ROWS"])
C = int(os.environ["NPU_COLS"])
K = int(os.environ["NPU_K"])
BITS = int(os.environ["NPU_BITS"])
ACC = int(os.environ["NPU_ACC"])
SEED = int(os.environ["NPU_SEED"])


def pack(values, width):
    word = 0
    for i, v in enumerate(values):
        word |= (v & ((1 << width) - 1)) << (i * width)
    return word


def unpack_signed(word, lanes, width):
    out = []
    for i in range(lanes):
        v = (word >> (i * width)) & ((1 << width) - 1)
        out.append(v - (1 << width) if v >> (width - 1) else v)
    return out


@cocotb.test()
async def one_tile_matches_a_plain_product(dut):
    rng = random.Random(SEED)
    lo, hi = -(1 << (BITS - 1)), (1 << (BITS - 1)) - 1
    a = [[rng.choice([lo, hi, rng.randint(lo, hi)]) for _ in range(K)] for _ in range(R)]
    b = [[rng.choice([lo, hi, rng.randint(lo, hi)]) for _ in range(C)] for _ in range(K)]
    want = [[sum(a[i][k] * b[k][j] for k in range(K)) for j in range(C)] for i in range(R)]

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.a_tvalid.value = 0
    dut.b_tvalid.value = 0
    dut.a_tlast.value = 0
    dut.a_tdata.value = 0
    dut.b_tdata.value = 0
    dut.c_tready.value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    beat, rows, cycles = 0, [], 0
    while len(rows) < R:
        offer = beat < K and rng.random() < 0.7
        dut.a_tvalid.value = int(offer)
        dut.b_tvalid.value = int(offer)
        if beat < K:
            dut.a_tdata.value = pack([a[i][beat] for i in range(R)], BITS)
            dut.b_tdata.value = pack(b[beat], BITS)
            dut.a_tlast.value = int(beat == K - 1)
        ready = rng.random() < 0.6
        dut.c_tready.value = int(ready)
        await ReadOnly()
        took = offer and int(dut.a_tready.value) == 1 and int(dut.b_tready.value) == 1
        if int(dut.c_tvalid.value) == 1 and ready:
            row = unpack_signed(int(dut.c_tdata.value), C, ACC)
            assert int(dut.c_tlast.value) == int(len(rows) == R - 1), f"c_tlast on row {len(rows)}"
            rows.append(row)
        await RisingEdge(dut.clk)
        beat += int(took)
        cycles += 1
        assert cycles < 2000, f"hang: {beat} of {K} beats, {len(rows)} of {R} rows"
    for i in range(R):
        assert rows[i] == want[i], f"row {i}: expected {want[i]}, got {rows[i]} (seed {SEED})"
