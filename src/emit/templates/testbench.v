`timescale 1ns / 1ps
`default_nettype none

// Self-checking testbench for ${name}: streams ${name}_a.hex and ${name}_b.hex into the array with
// pseudo-random gaps, applies pseudo-random back-pressure on c_tready, and compares every result
// row with ${name}_c.hex (computed by npugen's golden model), then runs a TAIL-cycle drain tail
// in which no further row may appear. Prints PASS and calls $finish, or
// prints the first mismatch and calls $fatal. Run: iverilog -g2005 -o tb.vvp -c ${name}_tb.f && vvp tb.vvp
// (or verilator --binary --trace -F ${name}_tb.f --top-module tb_${name} && obj_dir/Vtb_${name}).
// Waveforms: +dump writes the whole run to tb_${name}.vcd. Without it a failure still writes
// tb_${name}_fail.vcd, from the failing row for FAIL_WINDOW cycles; the run is deterministic,
// so rerunning with +dump shows the same failure with its whole history.
module tb_${name};
  localparam integer NA = ${na};
  localparam integer NB = ${nb};
  localparam integer NC = ${nc};
  localparam integer AW = ${aw};
  localparam integer BW = ${bw};
  localparam integer CW = ${cw};
  localparam integer LANES = ${c};
  localparam integer LW = ${lw};
  localparam integer TIMEOUT = ${timeout};
  localparam integer FAIL_WINDOW = ${fail_window};
  localparam integer TAIL = ${tail};

  reg clk = 1'b0;
  reg rst = 1'b1;
  always #5 clk = ~clk;

  reg [AW:0] a_mem [0:NA-1];
  reg [BW:0] b_mem [0:NB-1];
  reg [CW:0] c_mem [0:NC-1];
  initial begin
    $readmemh("${name}_a.hex", a_mem);
    $readmemh("${name}_b.hex", b_mem);
    $readmemh("${name}_c.hex", c_mem);${param_load}
  end

  reg dumping = 1'b0;
  integer fail_at = -1;
  integer last_at = -1;
  task start_fail_dump;
    begin
      if (!dumping) begin
        $display("  waveform: tb_${name}_fail.vcd (from this row on; rerun with +dump for the whole run)");
        $dumpfile("tb_${name}_fail.vcd");
        $dumpvars(0, tb_${name});
        dumping = 1'b1;
      end
    end
  endtask
  initial begin
    if ($test$plusargs("dump")) begin
      $dumpfile("tb_${name}.vcd");
      $dumpvars(0, tb_${name});
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
  reg [31:0] lfsr = 32'h${lfsr_seed};
  wire [AW:0] a_word = a_mem[(a_i < NA) ? a_i : 0];
  wire [BW:0] b_word = b_mem[(b_i < NB) ? b_i : 0];${param_decl}
  wire c_tready = lfsr[3] | lfsr[7];
  wire a_tready;
  wire b_tready;
  wire c_tvalid;
  wire c_tlast;
  wire [CW-1:0] c_tdata;

  ${name} dut (.clk(clk), .rst(rst), .a_tdata(a_word[AW-1:0]), .a_tvalid(a_off), .a_tready(a_tready), .a_tlast(a_word[AW]), .${b_port}_tdata(b_word[BW-1:0]), .${b_port}_tvalid(b_off), .${b_port}_tready(b_tready)${b_last}${param_conn}, .c_tdata(c_tdata), .c_tvalid(c_tvalid), .c_tready(c_tready), .c_tlast(c_tlast));

  always @(posedge clk) begin
    cycle <= cycle + 1;
    lfsr <= {lfsr[30:0], lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0]};
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
      end${param_drive}
      if (c_tvalid && c_tready && c_i >= NC) begin
        if (fail_at < 0) begin
          $display("FAIL: an extra result row at cycle %0d, after all %0d expected rows: got %h", cycle, NC, {c_tlast, c_tdata});
          start_fail_dump;
          fail_at = cycle;
        end
      end else if (c_tvalid && c_tready) begin
        if (fail_at < 0 && {c_tlast, c_tdata} !== c_mem[c_i]) begin
          $display("FAIL: result row %0d at cycle %0d: expected %h, got %h", c_i, cycle, c_mem[c_i], {c_tlast, c_tdata});
          for (j = 0; j < LANES; j = j + 1)
            if (c_tdata[j*LW +: LW] !== c_mem[c_i][j*LW +: LW])
              $display("  lane %0d: expected %0d, got %0d", j, ${lane_fmt}(c_mem[c_i][j*LW +: LW]), ${lane_fmt}(c_tdata[j*LW +: LW]));
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
