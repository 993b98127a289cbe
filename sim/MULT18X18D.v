// A behavioural model of the Lattice ECP5 MULT18X18D, only as far as
// hw/snn_mul_reg.v uses it: a signed or unsigned 18x18 product, its output
// register on CLK0 with clock enable CE0 and a synchronous reset RST0
// (RESETMODE "SYNC": the reset wins over the enable), no input or pipeline
// registers. It exists so the tests can simulate the instance snncc emits
// for the ECP5 (`SNNCC_ECP5_DSP`) against the behavioural multiplier; the
// semantics are Lattice's (FPGA-TN-02205, "ECP5 and ECP5-5G sysDSP Usage
// Guide"). Any other configuration stops the simulation; the ports are
// the ones hw/snn_mul_reg.v connects.
`default_nettype none
`timescale 1ns/1ps
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module MULT18X18D #(
    parameter REG_OUTPUT_CLK = "NONE",
    parameter REG_OUTPUT_CE = "CE0",
    parameter REG_OUTPUT_RST = "RST0",
    parameter RESETMODE = "SYNC",
    parameter GSR = "ENABLED"
) (
    input  wire A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17,
    input  wire B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17,
    input  wire C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C15, C16, C17,
    input  wire SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
    input  wire CLK0, CE0, RST0,
    output wire P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17,
        P18, P19, P20, P21, P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33, P34, P35
);
    wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1,
        A0};
    wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1,
        B0};
    wire signed [35:0] a36 = {{18{SIGNEDA & a[17]}}, a};
    wire signed [35:0] b36 = {{18{SIGNEDB & b[17]}}, b};
    wire [35:0] product = a36 * b36;
    reg [35:0] p_r = 36'd0;
    always @(posedge CLK0)
        if (RST0) p_r <= 36'd0;
        else if (CE0) p_r <= product;
    wire [35:0] p = (REG_OUTPUT_CLK == "CLK0") ? p_r : product;
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19,
        P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1,
        P0} = p;
    initial begin
        if ((REG_OUTPUT_CLK != "CLK0" && REG_OUTPUT_CLK != "NONE")
                || REG_OUTPUT_CE != "CE0" || REG_OUTPUT_RST != "RST0" || RESETMODE != "SYNC") begin
            $display("MULT18X18D model: unsupported configuration");
            $finish;
        end
    end
endmodule
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
`default_nettype wire
