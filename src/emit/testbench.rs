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
    let a = cfg.array();
    let post = cfg.postproc.as_ref();
    let name = &design.top;
    let (r, c) = (a.rows, a.cols);
    let (lw, lane_signed) = post.map_or((a.acc_bits(), a.signed), |p| (p.out_bits, p.out_signed));
    let (aw, bw, cw) = (r * a.input_bits, c * a.weight_bits, c * lw);
    let nbias = vectors.bias.len().max(1);
    let (bias_decl, bias_conn, bias_drive, bias_load) = if post.is_some() {
        (
            format!(
                "\n  reg [{c}*32-1:0] bias_mem [0:{}];\n  integer bias_i = 0;\n  reg bias_off = 1'b0;\n  wire bias_tready;\n  wire [{c}*32-1:0] bias_word = bias_mem[(bias_i < {nbias}) ? bias_i : 0];",
                nbias - 1
            ),
            ", .bias_tdata(bias_word), .bias_tvalid(bias_off), .bias_tready(bias_tready)".to_string(),
            format!(
                "\n      if (bias_off && bias_tready) begin\n        bias_i <= bias_i + 1;\n        bias_off <= (bias_i + 1 < {nbias}) && lfsr[2];\n      end else if (!bias_off) begin\n        bias_off <= (bias_i < {nbias}) && lfsr[2];\n      end"
            ),
            format!("\n    $readmemh(\"{name}_bias.hex\", bias_mem);"),
        )
    } else {
        Default::default()
    };
    let b_port = match a.dataflow {
        Dataflow::Os => "b",
        Dataflow::Ws => "w",
    };
    let b_last = match a.dataflow {
        Dataflow::Os => String::new(),
        Dataflow::Ws => format!(", .w_tlast(b_word[{bw}])"),
    };
    let timeout = 8 * vectors.cycles + 2000;
    let first = design.header.first().cloned().unwrap_or_default();
    let lfsr_seed = (seed as u32) | 1;
    let lane_fmt = if lane_signed { "$signed" } else { "$unsigned" };
    let mut tb = String::new();
    for line in &design.header {
        let _ = writeln!(tb, "// {line}");
    }
    let _ = write!(
        tb,
        r#"
`timescale 1ns / 1ps
`default_nettype none

// Self-checking testbench for {name}: streams {name}_a.hex and {name}_b.hex into the array with
// pseudo-random gaps, applies pseudo-random back-pressure on c_tready, and compares every result
// row with {name}_c.hex (computed by npugen's golden model), then runs a TAIL-cycle drain tail
// in which no further row may appear. Prints PASS and calls $finish, or
// prints the first mismatch and calls $fatal. Run: iverilog -g2005 -o tb.vvp -c {name}_tb.f && vvp tb.vvp
// (or verilator --binary --trace -F {name}_tb.f --top-module tb_{name} && obj_dir/Vtb_{name}).
// Waveforms: +dump writes the whole run to tb_{name}.vcd. Without it a failure still writes
// tb_{name}_fail.vcd, from the failing row for FAIL_WINDOW cycles; the run is deterministic,
// so rerunning with +dump shows the same failure with its whole history.
module tb_{name};
  localparam integer NA = {na};
  localparam integer NB = {nb};
  localparam integer NC = {nc};
  localparam integer AW = {aw};
  localparam integer BW = {bw};
  localparam integer CW = {cw};
  localparam integer LANES = {c};
  localparam integer LW = {lw};
  localparam integer TIMEOUT = {timeout};
  localparam integer FAIL_WINDOW = {fail_window};
  localparam integer TAIL = {tail};

  reg clk = 1'b0;
  reg rst = 1'b1;
  always #5 clk = ~clk;

  reg [AW:0] a_mem [0:NA-1];
  reg [BW:0] b_mem [0:NB-1];
  reg [CW:0] c_mem [0:NC-1];
  initial begin
    $readmemh("{name}_a.hex", a_mem);
    $readmemh("{name}_b.hex", b_mem);
    $readmemh("{name}_c.hex", c_mem);{bias_load}
  end

  reg dumping = 1'b0;
  integer fail_at = -1;
  integer last_at = -1;
  task start_fail_dump;
    begin
      if (!dumping) begin
        $display("  waveform: tb_{name}_fail.vcd (from this row on; rerun with +dump for the whole run)");
        $dumpfile("tb_{name}_fail.vcd");
        $dumpvars(0, tb_{name});
        dumping = 1'b1;
      end
    end
  endtask
  initial begin
    if ($test$plusargs("dump")) begin
      $dumpfile("tb_{name}.vcd");
      $dumpvars(0, tb_{name});
      dumping = 1'b1;
    end
  end

  integer a_i = 0;
  integer b_i = 0;
  integer c_i = 0;
  integer cycle = 0;
  integer j;
  reg a_off = 1'b0;
  reg b_off = 1'b0;
  reg [31:0] lfsr = 32'h{lfsr_seed:08x};
  wire [AW:0] a_word = a_mem[(a_i < NA) ? a_i : 0];
  wire [BW:0] b_word = b_mem[(b_i < NB) ? b_i : 0];{bias_decl}
  wire c_tready = lfsr[3] | lfsr[7];
  wire a_tready;
  wire b_tready;
  wire c_tvalid;
  wire c_tlast;
  wire [CW-1:0] c_tdata;

  {name} dut (.clk(clk), .rst(rst), .a_tdata(a_word[AW-1:0]), .a_tvalid(a_off), .a_tready(a_tready), .a_tlast(a_word[AW]), .{b_port}_tdata(b_word[BW-1:0]), .{b_port}_tvalid(b_off), .{b_port}_tready(b_tready){b_last}{bias_conn}, .c_tdata(c_tdata), .c_tvalid(c_tvalid), .c_tready(c_tready), .c_tlast(c_tlast));

  always @(posedge clk) begin
    cycle <= cycle + 1;
    lfsr <= {{lfsr[30:0], lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0]}};
    if (cycle == 2) rst <= 1'b0;
    if (!rst) begin
      if (a_off && a_tready) begin
        a_i <= a_i + 1;
        a_off <= (a_i + 1 < NA) && lfsr[0];
      end else if (!a_off) begin
        a_off <= (a_i < NA) && lfsr[0];
      end
      if (b_off && b_tready) begin
        b_i <= b_i + 1;
        b_off <= (b_i + 1 < NB) && lfsr[1];
      end else if (!b_off) begin
        b_off <= (b_i < NB) && lfsr[1];
      end{bias_drive}
      if (c_tvalid && c_tready && c_i >= NC) begin
        if (fail_at < 0) begin
          $display("FAIL: an extra result row at cycle %0d, after all %0d expected rows: got %h", cycle, NC, {{c_tlast, c_tdata}});
          start_fail_dump;
          fail_at = cycle;
        end
      end else if (c_tvalid && c_tready) begin
        if (fail_at < 0 && {{c_tlast, c_tdata}} !== c_mem[c_i]) begin
          $display("FAIL: result row %0d at cycle %0d: expected %h, got %h", c_i, cycle, c_mem[c_i], {{c_tlast, c_tdata}});
          for (j = 0; j < LANES; j = j + 1)
            if (c_tdata[j*LW +: LW] !== c_mem[c_i][j*LW +: LW])
              $display("  lane %0d: expected %0d, got %0d", j, {lane_fmt}(c_mem[c_i][j*LW +: LW]), {lane_fmt}(c_tdata[j*LW +: LW]));
          if (c_tlast !== c_mem[c_i][CW])
            $display("  c_tlast: expected %b, got %b", c_mem[c_i][CW], c_tlast);
          start_fail_dump;
          fail_at = cycle;
        end
        c_i <= c_i + 1;
        if (c_i + 1 == NC && fail_at >= 0) begin
          $fatal(1, "result mismatch");
        end else if (c_i + 1 == NC) begin
          last_at = cycle;
        end
      end
      // The drain tail: nothing may leave after the last expected row.
      if (last_at >= 0 && fail_at < 0 && cycle >= last_at + TAIL) begin
        $display("PASS: %0d result rows match the golden model (%0d cycles), none after them in a %0d-cycle drain tail", NC, last_at, TAIL);
        $finish;
      end
      if (fail_at >= 0 && cycle >= fail_at + FAIL_WINDOW) begin
        $fatal(1, "result mismatch");
      end
      if (cycle > TIMEOUT) begin
        $display("FAIL: timeout after %0d cycles: %0d of %0d A beats, %0d of %0d B beats, %0d of %0d rows", cycle, a_i, NA, b_i, NB, c_i, NC);
        $fatal(1, "timeout");
      end
    end
  end
endmodule

`default_nettype wire
"#,
        fail_window = 2 * r + c + 16,
        tail = crate::sim::run::drain_tail(a),
        na = vectors.a.len(),
        nb = vectors.b.len(),
        nc = vectors.c.len(),
    );
    let mut files = vec![
        OutputFile {
            name: format!("{name}.v"),
            contents: design_to_verilog(design),
        },
        OutputFile {
            name: format!("tb_{name}.v"),
            contents: tb,
        },
        OutputFile {
            name: format!("{name}_a.hex"),
            contents: hex_file(
                &format!("{first}\n// A beats: {{a_tlast, a_tdata}}"),
                &vectors.a,
                a.input_bits,
                aw,
            ),
        },
        OutputFile {
            name: format!("{name}_b.hex"),
            contents: hex_file(
                &format!("{first}\n// {b_port} beats: {{{b_port}_tlast, {b_port}_tdata}}"),
                &vectors.b,
                a.weight_bits,
                bw,
            ),
        },
        OutputFile {
            name: format!("{name}_c.hex"),
            contents: hex_file(
                &format!("{first}\n// expected result rows: {{c_tlast, c_tdata}}"),
                &vectors.c,
                lw,
                cw,
            ),
        },
        OutputFile {
            name: format!("{name}_tb.f"),
            contents: format!("// {first}\ntb_{name}.v\n{name}.v\n"),
        },
    ];
    if post.is_some() {
        // Bias beats: C int32 lanes (no last bit: the hex word is exactly C*32 bits).
        let mut text = format!("// {first}\n// bias beats: bias_tdata\n");
        for beat in &vectors.bias {
            let full = hex_word(beat, 32, c * 32);
            // Drop the leading digit that holds only the (zero) last bit.
            text.push_str(&full[full.len() - (c * 32 / 4) as usize..]);
            text.push('\n');
        }
        files.push(OutputFile {
            name: format!("{name}_bias.hex"),
            contents: text,
        });
    }
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
