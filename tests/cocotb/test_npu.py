"""cocotb testbench for a generated npu (run by tests/tool_flows.rs): third-party AXI models.

cocotbext-axi's AxiRam answers the npu's AXI4 master port and its AxiLiteMaster drives the
register port. The DRAM image (program, A, B, post-processing records) and the expected result
come from files npugen's test writes (job.json, image.bin, expected.bin); the register offsets
come from the generated manifest (<name>.json). The test loads the image, writes PROG_ADDR,
PROG_LEN and BASE0..3, enables the interrupt, starts the npu, waits for irq, checks STATUS
(done, no error) and the instruction counter, and compares the result bytes in the RAM.
The npu's ports are the generated top's, as cocotbext-axi finds them by their prefixes.
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge, with_timeout
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, mode="r"):
    with open(os.path.join(HERE, name), mode) as f:
        return f.read()


@cocotb.test()
async def gemm_program_matches_the_golden_model(dut):
    job = json.loads(load("job.json"))
    manifest = json.loads(load(job["manifest"]))
    regs = {k: int(v, 16) for k, v in manifest["npu"]["registers"].items()}
    image = load("image.bin", "rb")
    expected = load("expected.bin", "rb")

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=len(image))
    ram.write(0, image)
    lite = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axi"), dut.clk, dut.rst)
    dut.rst.value = 1
    for _ in range(5):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)

    async def write32(name, value):
        await lite.write_dword(regs[name], value & 0xFFFFFFFF)

    async def read32(name):
        return await lite.read_dword(regs[name])

    assert await read32("ID") == 0x4E505547, "ID register"
    for name, value in [("PROG_ADDR", job["prog_addr"])] + [
        (f"BASE{i}", b) for i, b in enumerate(job["bases"])
    ]:
        await write32(f"{name}_LO", value)
        await write32(f"{name}_HI", value >> 32)
    await write32("PROG_LEN", job["prog_len"])
    await write32("IRQ_ENABLE", 1)
    await write32("CTRL", 1)

    async def irq():
        while int(dut.irq.value) == 0:
            await RisingEdge(dut.clk)

    await with_timeout(irq(), job["max_cycles"] * 10, "ns")
    status = await read32("STATUS")
    assert status & 3 == 2, f"STATUS {status:#x}: not done, or still busy"
    assert (status >> 8) & 0xFF == 0, f"STATUS {status:#x}: error {(status >> 8) & 0xFF}"
    assert await read32("INSTRUCTIONS_LO") == job["prog_len"], "instructions executed"
    got = ram.read(job["c_addr"], len(expected))
    bad = [i for i in range(len(expected)) if got[i] != expected[i]]
    assert not bad, f"{len(bad)} result bytes differ, first at offset {bad[0]}"
    await write32("IRQ_STATUS", 1)
    await RisingEdge(dut.clk)
    await RisingEdge(dut.clk)
    assert int(dut.irq.value) == 0, "irq cleared by IRQ_STATUS"
