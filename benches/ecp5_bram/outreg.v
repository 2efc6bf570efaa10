// The same block RAM instantiated as a DP16KD with its read port's output register
// (REGMODE_B = "OUTREG"), which Yosys 0.70 does not infer; then one adder into the fabric.
module outreg(input clk, input we, input [9:0] wa, input [9:0] ra, input [17:0] wd, output reg [17:0] q);
  wire [17:0] d;
  DP16KD #(.DATA_WIDTH_A(18), .DATA_WIDTH_B(18), .REGMODE_A("NOREG"), .REGMODE_B("OUTREG")) r (
    .CLKA(clk), .CEA(1'b1), .OCEA(1'b1), .WEA(we), .CSA0(1'b0), .CSA1(1'b0), .CSA2(1'b0), .RSTA(1'b0),
    .ADA0(1'b0), .ADA1(1'b0), .ADA2(1'b0), .ADA3(1'b0), .ADA4(wa[0]), .ADA5(wa[1]), .ADA6(wa[2]), .ADA7(wa[3]), .ADA8(wa[4]), .ADA9(wa[5]), .ADA10(wa[6]), .ADA11(wa[7]), .ADA12(wa[8]), .ADA13(wa[9]),
    .DIA0(wd[0]), .DIA1(wd[1]), .DIA2(wd[2]), .DIA3(wd[3]), .DIA4(wd[4]), .DIA5(wd[5]), .DIA6(wd[6]), .DIA7(wd[7]), .DIA8(wd[8]), .DIA9(wd[9]), .DIA10(wd[10]), .DIA11(wd[11]), .DIA12(wd[12]), .DIA13(wd[13]), .DIA14(wd[14]), .DIA15(wd[15]), .DIA16(wd[16]), .DIA17(wd[17]),
    .CLKB(clk), .CEB(1'b1), .OCEB(1'b1), .WEB(1'b0), .CSB0(1'b0), .CSB1(1'b0), .CSB2(1'b0), .RSTB(1'b0),
    .ADB0(1'b0), .ADB1(1'b0), .ADB2(1'b0), .ADB3(1'b0), .ADB4(ra[0]), .ADB5(ra[1]), .ADB6(ra[2]), .ADB7(ra[3]), .ADB8(ra[4]), .ADB9(ra[5]), .ADB10(ra[6]), .ADB11(ra[7]), .ADB12(ra[8]), .ADB13(ra[9]),
    .DOB0(d[0]), .DOB1(d[1]), .DOB2(d[2]), .DOB3(d[3]), .DOB4(d[4]), .DOB5(d[5]), .DOB6(d[6]), .DOB7(d[7]), .DOB8(d[8]), .DOB9(d[9]), .DOB10(d[10]), .DOB11(d[11]), .DOB12(d[12]), .DOB13(d[13]), .DOB14(d[14]), .DOB15(d[15]), .DOB16(d[16]), .DOB17(d[17]));
  always @(posedge clk) q <= d + 18'd1;
endmodule
