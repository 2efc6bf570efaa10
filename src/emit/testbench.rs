//! A self-checking Verilog testbench for the array, with `$readmemh` vector files computed by
//! the golden model. Under Icarus Verilog it prints `PASS` and calls `$finish` (exit status 0),
//! or prints the first mismatching row and lane and calls `$fatal` (non-zero exit status).
//!
//! The sources insert pseudo-random gaps and the sink applies pseudo-random back-pressure
//! (an LFSR seeded from the vectors' seed); result rows are compared in order, so the expected
//! values do not depend on that timing.

use std::fmt::Write as _;

use super::verilog::design_to_verilog;
use super::OutputFile;
use crate::config::{Config, Dataflow};
use crate::rtl::Design;
use crate::sim::ports::pack_lanes;
use crate::sim::tiling::BeatData;
use crate::sim::vectors::Vectors;

/// `{last, lanes}` as hex digits, `width` data bits plus the last bit.
fn hex_word(beat: &BeatData, lane_bits: u32, width: u32) -> String {
    let total = width + 1;
    let mut words = vec![0u32; total.div_ceil(32) as usize];
    pack_lanes(&mut words, &beat.lanes, lane_bits);
    if beat.last {
        words[(width / 32) as usize] |= 1 << (width % 32);
    }
    let digits = total.div_ceil(4) as usize;
    let mut s = String::with_capacity(digits);
    for d in (0..digits).rev() {
        let nibble = (words[d / 8] >> ((d % 8) * 4)) & 0xf;
        s.push(char::from_digit(nibble, 16).expect("nibble"));
    }
    s
}

fn hex_file(header: &str, beats: &[BeatData], lane_bits: u32, width: u32) -> String {
    let mut s = format!("// {header}\n");
    for b in beats {
        s.push_str(&hex_word(b, lane_bits, width));
        s.push('\n');
    }
    s
}

/// The testbench files for `design` (generated from `cfg`) and `vectors`:
/// `<name>.v`, `tb_<name>.v`, `<name>_{a,b,c}.hex` and the file list `<name>_tb.f`.
pub fn testbench(cfg: &Config, design: &Design, vectors: &Vectors, seed: u64) -> Vec<OutputFile> {
    let name = &design.top;
    let first = design.header.first().cloned().unwrap_or_default();
    let mut files = vec![
        OutputFile {
            name: format!("{name}.v"),
            contents: design_to_verilog(design),
        },
        OutputFile {
            name: format!("tb_{name}.v"),
            contents: tb_source(cfg, design, vectors, seed),
        },
    ];
    files.extend(hex_files(cfg, name, &first, vectors));
    files.push(OutputFile {
        name: format!("{name}_tb.f"),
        contents: format!("// {first}\ntb_{name}.v\n{name}.v\n"),
    });
    let vectors: Vec<String> = files
        .iter()
        .filter(|f| f.name.ends_with(".hex"))
        .map(|f| f.name.clone())
        .collect();
    files.push(OutputFile {
        name: format!("{name}_tb.core"),
        contents: super::fusesoc::testbench_core(
            &design.header,
            name,
            &vectors,
            crate::gen::VERSION,
        ),
    });
    files
}

/// Lane width and signedness of the result stream.
fn lanes_of(cfg: &Config) -> (u32, bool) {
    let a = cfg.array();
    cfg.postproc
        .as_ref()
        .map_or((a.acc_bits(), a.signed), |p| (p.out_bits, p.out_signed))
}

/// `tb_<name>.v`: the template filled for this design and these vectors.
fn tb_source(cfg: &Config, design: &Design, vectors: &Vectors, seed: u64) -> String {
    let a = cfg.array();
    let name = &design.top;
    let (r, c) = (a.rows, a.cols);
    let (lw, lane_signed) = lanes_of(cfg);
    let (aw, bw, cw) = (r * a.input_bits, c * a.weight_bits, c * lw);
    let params = cfg
        .postproc
        .as_ref()
        .map(|_| param_fragments(name, c, vectors.params.len().max(1)))
        .unwrap_or_default();
    let (b_port, b_last) = match a.dataflow {
        Dataflow::Os => ("b", String::new()),
        Dataflow::Ws => ("w", format!(", .w_tlast(b_word[{bw}])")),
    };
    let mut tb = String::new();
    for line in &design.header {
        let _ = writeln!(tb, "// {line}");
    }
    tb.push('\n');
    let n = |v: usize| v.to_string();
    tb.push_str(&super::template::fill(
        include_str!("templates/testbench.v"),
        &[
            ("name", name.to_string()),
            ("na", n(vectors.a.len())),
            ("nb", n(vectors.b.len())),
            ("nc", n(vectors.c.len())),
            ("aw", aw.to_string()),
            ("bw", bw.to_string()),
            ("cw", cw.to_string()),
            ("c", c.to_string()),
            ("lw", lw.to_string()),
            ("timeout", (8 * vectors.cycles + 2000).to_string()),
            ("fail_window", (2 * r + c + 16).to_string()),
            ("tail", crate::sim::run::drain_tail(a).to_string()),
            ("param_load", params.load),
            ("lfsr_seed", format!("{:08x}", (seed as u32) | 1)),
            ("param_decl", params.decl),
            ("b_port", b_port.to_string()),
            ("b_last", b_last),
            ("param_conn", params.conn),
            ("param_drive", params.drive),
            (
                "lane_fmt",
                if lane_signed { "$signed" } else { "$unsigned" }.to_string(),
            ),
        ],
    ));
    tb
}

/// The testbench's parameter-stream pieces (npu_core only): declarations, the DUT connection, the
/// driver and the `$readmemh`.
#[derive(Default)]
struct ParamFragments {
    decl: String,
    conn: String,
    drive: String,
    load: String,
}

fn param_fragments(name: &str, c: u32, nparams: usize) -> ParamFragments {
    ParamFragments {
        decl: format!(
            "\n  reg [{c}*160-1:0] param_mem [0:{}];\n  integer param_i = 0;\n  reg param_off = 1'b0;\n  wire param_tready;\n  wire [{c}*160-1:0] param_word = param_mem[(param_i < {nparams}) ? param_i : 0];",
            nparams - 1
        ),
        conn: ", .param_tdata(param_word), .param_tvalid(param_off), .param_tready(param_tready)"
            .to_string(),
        drive: format!(
            "\n      if (param_off && param_tready) begin\n        param_i <= param_i + 1;\n        param_off <= (param_i + 1 < {nparams}) && lfsr[2];\n      end else if (!param_off) begin\n        param_off <= (param_i < {nparams}) && lfsr[2];\n      end"
        ),
        load: format!("\n    $readmemh(\"{name}_params.hex\", param_mem);"),
    }
}

/// The vectors as `$readmemh` files: A, B (or W), the expected C rows, and the parameter beats.
fn hex_files(cfg: &Config, name: &str, first: &str, vectors: &Vectors) -> Vec<OutputFile> {
    let a = cfg.array();
    let c = a.cols;
    let (lw, _) = lanes_of(cfg);
    let b_port = match a.dataflow {
        Dataflow::Os => "b",
        Dataflow::Ws => "w",
    };
    let mut files = vec![
        OutputFile {
            name: format!("{name}_a.hex"),
            contents: hex_file(
                &format!("{first}\n// A beats: {{a_tlast, a_tdata}}"),
                &vectors.a,
                a.input_bits,
                a.rows * a.input_bits,
            ),
        },
        OutputFile {
            name: format!("{name}_b.hex"),
            contents: hex_file(
                &format!("{first}\n// {b_port} beats: {{{b_port}_tlast, {b_port}_tdata}}"),
                &vectors.b,
                a.weight_bits,
                c * a.weight_bits,
            ),
        },
        OutputFile {
            name: format!("{name}_c.hex"),
            contents: hex_file(
                &format!("{first}\n// expected result rows: {{c_tlast, c_tdata}}"),
                &vectors.c,
                lw,
                c * lw,
            ),
        },
    ];
    if cfg.postproc.is_some() {
        // Parameter beats: C records of five 32-bit words (no last bit: the hex word is
        // exactly C*160 bits).
        let mut text = format!("// {first}\n// parameter beats: param_tdata\n");
        for beat in &vectors.params {
            let full = hex_word(beat, 32, c * 160);
            // Drop the leading digit that holds only the (zero) last bit.
            text.push_str(&full[full.len() - (c * 160 / 4) as usize..]);
            text.push('\n');
        }
        files.push(OutputFile {
            name: format!("{name}_params.hex"),
            contents: text,
        });
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_words_hold_last_and_lanes() {
        let b = BeatData {
            lanes: vec![-1, 2],
            last: true,
        };
        // Two 4-bit lanes: lane 0 = f, lane 1 = 2, last at bit 8.
        assert_eq!(hex_word(&b, 4, 8), "12f");
        let b = BeatData {
            lanes: vec![0, 0],
            last: false,
        };
        assert_eq!(hex_word(&b, 4, 8), "000");
    }
}
