//! The npu's interface descriptions: the generated C header compiles cleanly (C99, -Wall
//! -Wextra -Werror) and a C driver packing instructions with its macros produces the Rust
//! encoder's words; `docs/npu.md` holds exactly the tables printed from the same data.

use std::process::Command;

use npugen::config::{ArrayConfig, Config, NpuConfig, PostprocConfig};
use npugen::npu::c_header::c_header;
use npugen::npu::isa::{Deps, Instr, Opcode, OPS};
use npugen::npu::regs::{offset, REGS};

fn cc() -> Option<String> {
    for c in ["cc", "gcc", "clang"] {
        if Command::new(c).arg("--version").output().is_ok() {
            return Some(c.to_string());
        }
    }
    None
}

#[test]
fn header_compiles_and_packs_instructions_like_the_encoder() {
    let Some(cc) = cc() else {
        assert!(std::env::var("CI").is_err(), "CI=true: no C compiler");
        println!("skipped: no C compiler");
        return;
    };
    let cfg = Config {
        name: "npu_h".into(),
        array: Some(ArrayConfig::default()),
        postproc: Some(PostprocConfig::default()),
        lif: None,
        npu: Some(NpuConfig::default()),
    };
    let h = c_header(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("npu_h_regs.h"), &h).unwrap();
    // One instruction per opcode with every field at a distinct value.
    let mut c =
        String::from("#include <stdio.h>\n#include <stdint.h>\n#include \"npu_h_regs.h\"\n");
    c.push_str("static void put(uint32_t *w, int word, int shift, int width, uint64_t v) {\n");
    c.push_str("  uint64_t m = width == 32 ? 0xffffffffu : ((1ull << width) - 1);\n");
    c.push_str("  w[word] |= (uint32_t)((v & m) << shift);\n}\n");
    for r in REGS {
        c.push_str(&format!(
            "_Static_assert(NPU_H_REG_{} == {}u, \"{}\");\n",
            r.name, r.offset, r.name
        ));
    }
    c.push_str(&format!(
        "_Static_assert(NPU_H_REG_CYCLES_LO == {}u, \"cycles\");\n",
        offset("CYCLES").unwrap()
    ));
    c.push_str("int main(void) {\n  uint32_t w[4];\n");
    let mut want = String::new();
    for s in OPS {
        let args: Vec<(&str, u64)> = s
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name, (i as u64 * 37 + 5) & ((1u64 << f.width) - 1)))
            .collect();
        let deps = match s.opcode {
            Opcode::Finish => Deps::default(),
            Opcode::Load => Deps {
                push_next: true,
                ..Deps::default()
            },
            _ => Deps {
                pop_prev: true,
                push_prev: true,
                ..Deps::default()
            },
        };
        let instr = Instr::new(s.opcode, deps, &args).unwrap();
        c.push_str("  w[0] = w[1] = w[2] = w[3] = 0;\n");
        c.push_str(&format!(
            "  put(w, NPU_H_INSN_OP_WORD, NPU_H_INSN_OP_SHIFT, NPU_H_INSN_OP_WIDTH, NPU_H_OP_{});\n",
            s.mnemonic
        ));
        for (flag, on) in [
            ("POP_PREV", deps.pop_prev),
            ("PUSH_PREV", deps.push_prev),
            ("PUSH_NEXT", deps.push_next),
        ] {
            if on {
                c.push_str(&format!(
                    "  put(w, NPU_H_INSN_{flag}_WORD, NPU_H_INSN_{flag}_SHIFT, NPU_H_INSN_{flag}_WIDTH, 1);\n"
                ));
            }
        }
        for (name, v) in &args {
            let m = format!("NPU_H_{}_{}", s.mnemonic, name.to_uppercase());
            c.push_str(&format!(
                "  put(w, {m}_WORD, {m}_SHIFT, {m}_WIDTH, {v}ull);\n"
            ));
        }
        c.push_str("  printf(\"%08x %08x %08x %08x\\n\", w[0], w[1], w[2], w[3]);\n");
        let e = instr.encode();
        want.push_str(&format!(
            "{:08x} {:08x} {:08x} {:08x}\n",
            e[0], e[1], e[2], e[3]
        ));
    }
    c.push_str("  return 0;\n}\n");
    std::fs::write(dir.path().join("drv.c"), c).unwrap();
    let exe = dir.path().join("drv");
    let out = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(dir.path().join("drv.c"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), want);
}

#[test]
fn docs_hold_the_generated_tables() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/npu.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (start, end) = (
        "<!-- generated tables: begin -->\n",
        "<!-- generated tables: end -->",
    );
    let a = doc.find(start).expect("begin marker") + start.len();
    let b = doc.find(end).expect("end marker");
    let want = npugen::npu::doc_tables::tables();
    if std::env::var("NPUGEN_UPDATE_DOCS").is_ok() {
        let updated = format!("{}{want}{}", &doc[..a], &doc[b..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert!(
        doc[a..b] == want,
        "docs/npu.md is stale: NPUGEN_UPDATE_DOCS=1 cargo test --test npu_interface rewrites it"
    );
}
