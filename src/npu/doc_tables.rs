//! The Markdown tables of `docs/npu.md` (instruction encoding, register map, counters, error
//! codes), printed from the same data as the RTL and the C header. A test keeps the committed
//! document equal to them.

use std::fmt::Write as _;

use super::isa::{COMMON, OPS};
use super::regs::{ErrorCode, COUNTERS, COUNTERS_BASE, REGS};

fn bits(lsb: u32, width: u32) -> String {
    if width == 1 {
        format!("{lsb}")
    } else {
        format!("{}:{lsb}", lsb + width - 1)
    }
}

/// The generated part of `docs/npu.md`.
pub fn tables() -> String {
    let mut o = String::new();
    o.push_str("### Instruction encoding\n\n");
    o.push_str(
        "Fields every instruction has:\n\n| word | bits | field | meaning |\n|---|---|---|---|\n",
    );
    for f in COMMON {
        let _ = writeln!(
            o,
            "| {} | {} | `{}` | {} |",
            f.word,
            bits(f.lsb, f.width),
            f.name,
            f.doc
        );
    }
    for s in OPS {
        let _ = writeln!(
            o,
            "\n**{} (opcode {}, {:?} unit).** {}.\n",
            s.mnemonic, s.opcode as u32, s.unit, s.doc
        );
        if s.fields.is_empty() {
            continue;
        }
        o.push_str("| word | bits | field | meaning |\n|---|---|---|---|\n");
        for f in s.fields {
            let _ = writeln!(
                o,
                "| {} | {} | `{}` | {} |",
                f.word,
                bits(f.lsb, f.width),
                f.name,
                f.doc
            );
        }
    }
    o.push_str(
        "\n### Registers\n\n| offset | name | access | fields | meaning |\n|---|---|---|---|---|\n",
    );
    for r in REGS {
        let fields: Vec<String> = r
            .fields
            .iter()
            .map(|f| format!("`{}` [{}]: {}", f.name, bits(f.lsb, f.width), f.doc))
            .collect();
        let _ = writeln!(
            o,
            "| 0x{:03X} | `{}` | {} | {} | {} |",
            r.offset,
            r.name,
            r.access.as_str(),
            fields.join("; "),
            r.doc
        );
    }
    o.push_str("\n### Performance counters (64 bits, `_LO` then `_HI`, read only)\n\n| offset | counter | counts |\n|---|---|---|\n");
    for (i, (name, doc)) in COUNTERS.iter().enumerate() {
        let _ = writeln!(
            o,
            "| 0x{:03X} | `{name}` | {doc} |",
            COUNTERS_BASE + 8 * i as u32
        );
    }
    o.push_str("\n### Error codes (`STATUS.ERROR`)\n\n| code | name |\n|---|---|\n");
    for e in ErrorCode::ALL {
        let _ = writeln!(o, "| {} | `{}` |", e as u32, e.name());
    }
    o
}
