// One 1024 x 18 block RAM, read data registered in the fabric (what Yosys infers from
// generic Verilog on ECP5: the read register is the DP16KD's own, the next is a fabric FF).
module inferred(input clk, input we, input [9:0] wa, input [9:0] ra, input [17:0] wd, output reg [17:0] q);
  reg [17:0] mem [0:1023];
  reg [17:0] rd;
  always @(posedge clk) begin
    if (we) mem[wa] <= wd;
    rd <= mem[ra];
    q <= rd;
  end
endmodule
