//! The C header `<name>_regs.h` for drivers, printed from the register map ([`super::regs`]),
//! the instruction encoding ([`super::isa`]) and this configuration's geometry: one source for
//! the RTL, the header and the docs.

use std::fmt::Write as _;

use super::isa::{COMMON, OPS};
use super::regs::{ErrorCode, COUNTERS, COUNTERS_BASE, MAGIC, REGS, VERSION};
use super::Geometry;
use crate::config::Config;
use crate::error::Result;

fn define(out: &mut String, name: &str, value: impl std::fmt::Display, doc: &str) {
    let line = format!("#define {name} {value}");
    if doc.is_empty() {
        let _ = writeln!(out, "{line}");
    } else {
        let _ = writeln!(out, "{line:<56} /* {doc} */");
    }
}

fn mask(width: u32) -> u64 {
    (1u64 << width) - 1
}

/// The header's text for `cfg` (which must have `[npu]`).
pub fn c_header(cfg: &Config) -> Result<String> {
    let g = Geometry::new(cfg)?;
    let p = cfg.name.to_uppercase();
    let mut o = String::new();
    o.push_str("/*\n");
    for l in crate::gen::header(cfg) {
        let _ = writeln!(o, "{}", format!(" * {l}").trim_end());
    }
    o.push_str(" */\n");
    let guard = format!("{p}_REGS_H");
    let _ = writeln!(o, "#ifndef {guard}\n#define {guard}\n");
    o.push_str("/* Identification: ID and VERSION read these. */\n");
    define(
        &mut o,
        &format!("{p}_MAGIC"),
        format!("0x{MAGIC:08X}u"),
        "\"NPUG\"",
    );
    define(
        &mut o,
        &format!("{p}_VERSION"),
        format!("0x{VERSION:08X}u"),
        "major << 16 | minor",
    );

    o.push_str("\n/* Register byte offsets (AXI4-Lite, 32-bit registers) and fields. */\n");
    for r in REGS {
        let name = format!("{p}_REG_{}", r.name);
        let doc = format!("{} {}", r.access.as_str(), r.doc);
        define(&mut o, &name, format!("0x{:03X}u", r.offset), &doc);
        for f in r.fields {
            let base = format!("{p}_{}_{}", r.name, f.name);
            define(&mut o, &format!("{base}_SHIFT"), f.lsb, f.doc);
            define(
                &mut o,
                &format!("{base}_MASK"),
                format!("0x{:X}u", mask(f.width) << f.lsb),
                "",
            );
        }
    }
    o.push_str("\n/* Performance counters: 64 bits each, _LO then _HI. */\n");
    for (i, (name, doc)) in COUNTERS.iter().enumerate() {
        let at = COUNTERS_BASE + 8 * i as u32;
        define(
            &mut o,
            &format!("{p}_REG_{name}_LO"),
            format!("0x{at:03X}u"),
            doc,
        );
        define(
            &mut o,
            &format!("{p}_REG_{name}_HI"),
            format!("0x{:03X}u", at + 4),
            "",
        );
    }
    o.push_str("\n/* STATUS.ERROR codes. */\n");
    for e in ErrorCode::ALL {
        define(
            &mut o,
            &format!("{p}_ERR_{}", e.name()),
            format!("{}u", e as u32),
            "",
        );
    }
    o.push_str("\n/* This configuration: what ARRAY, WIDTHS and the depth registers read. */\n");
    let (out_bits, _) = g.out.unwrap_or((0, false));
    for (name, v) in [
        ("ROWS", g.rows),
        ("COLS", g.cols),
        ("INPUT_BITS", g.in_bits),
        ("WEIGHT_BITS", g.w_bits),
        ("ACC_BITS", g.acc_bits),
        ("OUT_BITS", out_bits),
        ("ACT_WORDS", g.act_words),
        ("OUT_WORDS", g.out_words),
        ("WEIGHT_WORDS", g.weight_words),
        ("PARAM_ROWS", g.param_rows),
        ("ACC_ROWS", g.acc_rows),
        ("AXI_DATA_BYTES", g.axi_bytes),
    ] {
        define(&mut o, &format!("{p}_CFG_{name}"), format!("{v}u"), "");
    }
    o.push_str("\n/* Instructions: 16 bytes, four little-endian 32-bit words. FIELD_WORD is the\n");
    o.push_str(" * word index, _SHIFT and _WIDTH the bits within it. */\n");
    for f in COMMON {
        let base = format!("{p}_INSN_{}", f.name.to_uppercase());
        define(&mut o, &format!("{base}_WORD"), f.word, f.doc);
        define(&mut o, &format!("{base}_SHIFT"), f.lsb, "");
        define(&mut o, &format!("{base}_WIDTH"), f.width, "");
    }
    for s in OPS {
        define(
            &mut o,
            &format!("{p}_OP_{}", s.mnemonic),
            s.opcode as u32,
            s.doc,
        );
        for f in s.fields {
            let base = format!("{p}_{}_{}", s.mnemonic, f.name.to_uppercase());
            define(&mut o, &format!("{base}_WORD"), f.word, f.doc);
            define(&mut o, &format!("{base}_SHIFT"), f.lsb, "");
            define(&mut o, &format!("{base}_WIDTH"), f.width, "");
        }
    }
    let _ = writeln!(o, "\n#endif /* {guard} */");
    Ok(o)
}
