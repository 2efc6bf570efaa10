//! The C ABI shim compiled with each Verilated model. One call per clock cycle moves every
//! port through flat 32-bit word arrays (so ports of any width, including > 64 bits, work):
//!
//! ```text
//! int   npu_abi(void);                        // ABI_VERSION
//! void* npu_new(int trace);                   // own VerilatedContext per model
//! void  npu_free(void*);
//! int   npu_trace_open(void*, const char*);   // 1 if the waveform file opened
//! void  npu_step(void*, const uint32_t* in, uint32_t* out);
//! ```
//!
//! `npu_step`: apply inputs, settle with `clk` low, copy outputs (the values during the cycle),
//! then the rising edge. Each half period is 5000 time units of 1 ps (a 10 ns clock).

use std::fmt::Write as _;

use super::ports::{PortLayout, PortSlot};

/// Version of the C ABI above; bump on any change.
pub const ABI_VERSION: i32 = 2;

/// The Verilator class prefix used for every model.
pub const PREFIX: &str = "Vnpu";

fn set_input(out: &mut String, s: &PortSlot) {
    let (n, o) = (&s.name, s.offset);
    if s.width > 64 {
        for i in 0..s.words() {
            let _ = writeln!(out, "  t->{n}[{i}] = in[{}];", o + i);
        }
    } else if s.width > 32 {
        let _ = writeln!(
            out,
            "  t->{n} = (uint64_t)in[{o}] | ((uint64_t)in[{}] << 32);",
            o + 1
        );
    } else {
        let _ = writeln!(out, "  t->{n} = in[{o}];");
    }
}

fn get_output(out: &mut String, s: &PortSlot) {
    let (n, o) = (&s.name, s.offset);
    if s.width > 64 {
        for i in 0..s.words() {
            let _ = writeln!(out, "  out[{}] = t->{n}[{i}];", o + i);
        }
    } else if s.width > 32 {
        let _ = writeln!(out, "  out[{o}] = (uint32_t)t->{n};");
        let _ = writeln!(
            out,
            "  out[{}] = (uint32_t)((uint64_t)t->{n} >> 32);",
            o + 1
        );
    } else {
        let _ = writeln!(out, "  out[{o}] = (uint32_t)t->{n};");
    }
}

/// The shim's C++ source for a model with these ports.
pub(crate) fn shim_source(layout: &PortLayout) -> String {
    let mut set = String::new();
    for s in &layout.inputs {
        set_input(&mut set, s);
    }
    let mut get = String::new();
    for s in &layout.outputs {
        get_output(&mut get, s);
    }
    format!(
        r#"// npugen Verilator shim (ABI {ABI_VERSION}); generated, do not edit.
#include "{PREFIX}.h"
#include "verilated.h"
#include <cstdint>
#if VM_TRACE_FST
#include "verilated_fst_c.h"
typedef VerilatedFstC NpuTrace;
#elif VM_TRACE
#include "verilated_vcd_c.h"
typedef VerilatedVcdC NpuTrace;
#endif

namespace {{
struct Sim {{
  VerilatedContext* ctx;
  {PREFIX}* top;
#if VM_TRACE
  NpuTrace* vcd;
#endif
}};
inline void dump(Sim* s) {{
#if VM_TRACE
  if (s->vcd) s->vcd->dump(s->ctx->time());
#endif
  s->ctx->timeInc({half});
}}
}}  // namespace

#define NPU_API __attribute__((visibility("default")))
extern "C" {{
NPU_API int npu_abi(void) {{ return {ABI_VERSION}; }}

NPU_API void* npu_new(int trace) {{
  Sim* s = new Sim;
  s->ctx = new VerilatedContext;
  s->ctx->traceEverOn(trace != 0);
  s->top = new {PREFIX}{{s->ctx}};
#if VM_TRACE
  s->vcd = nullptr;
#endif
  s->top->clk = 0;
  s->top->eval();
  return s;
}}

NPU_API void npu_free(void* p) {{
  Sim* s = static_cast<Sim*>(p);
#if VM_TRACE
  if (s->vcd) {{ s->vcd->close(); delete s->vcd; }}
#endif
  s->top->final();
  delete s->top;
  delete s->ctx;
  delete s;
}}

NPU_API int npu_trace_open(void* p, const char* path) {{
#if VM_TRACE
  Sim* s = static_cast<Sim*>(p);
  s->vcd = new NpuTrace;
  s->top->trace(s->vcd, 99);
  s->vcd->open(path);
  if (!s->vcd->isOpen()) {{ delete s->vcd; s->vcd = nullptr; return 0; }}
  return 1;
#else
  (void)p; (void)path;
  return 0;
#endif
}}

NPU_API void npu_step(void* p, const uint32_t* in, uint32_t* out) {{
  Sim* s = static_cast<Sim*>(p);
  {PREFIX}* t = s->top;
{set}  t->clk = 0;
  t->eval();
{get}  dump(s);
  t->clk = 1;
  t->eval();
  dump(s);
}}
}}  // extern "C"
"#,
        half = super::verilator::HALF_PERIOD_PS
    )
}
