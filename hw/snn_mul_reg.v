// A signed multiplier whose product is registered, with a synchronous
// clear: p = clr ? 0 : a * b, one cycle after a and b (the analog layer's
// term, hw/snn_layer.v; docs/hardware.md, "The analog layer's multipliers").
//
// Why a module of its own: on an ECP5 the product's register must be the
// DSP's own. Yosys 0.23 maps `$mul` to a MULT18X18D without its registers,
// so a register after the product sits in the fabric and the path is
// register -> route -> multiplier -> route -> register, which was the routed
// critical path (10.2 ns, 6 of them route). With `SNNCC_ECP5_DSP` defined
// (`snncc synth --target ecp5` defines it) the MULT18X18D is instantiated
// with its output register, and the route behind the multiplier leaves the
// path. Simulators and other targets get the behavioural register, which
// computes the same integers (tests/hw_primitives.rs checks the instance
// against it with a model of the primitive). Only the ports Yosys' own
// DSP mapping drives are tied off: nextpnr-ecp5 cannot route a constant to
// every DSP pin (the SRI and unused clock/enable/reset pins among them).
`default_nettype none
`timescale 1ns/1ps
module snn_mul_reg #(
    parameter integer A_BITS = 8,
    parameter integer B_BITS = 8
) (
    input  wire                           clk,
    input  wire                           clr,
    input  wire signed [A_BITS-1:0]       a,
    input  wire signed [B_BITS-1:0]       b,
    output wire signed [A_BITS+B_BITS-1:0] p
);
    // Both factors sign-extended to the product's width: exact there (and
    // no signed/unsigned mix in the expression below to extend them wrong).
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [A_BITS+B_BITS-1:0] a_ext = {{B_BITS{a[A_BITS-1]}}, a};
    wire signed [A_BITS+B_BITS-1:0] b_ext = {{A_BITS{b[B_BITS-1]}}, b};
    /* verilator lint_on UNUSEDSIGNAL */
    // The DSP instance where it is asked for and the factors fit it;
    // otherwise the behavioural register (the same integers).
`ifdef SNNCC_ECP5_DSP
    localparam integer DSP = (A_BITS < 18 && B_BITS < 18) ? 1 : 0;
`else
    localparam integer DSP = 0;
`endif
    generate
        if (DSP != 0) begin : dsp
`ifdef SNNCC_ECP5_DSP
            wire [17:0] a18 = {{(18 - A_BITS){a[A_BITS-1]}}, a};
            wire [17:0] b18 = {{(18 - B_BITS){b[B_BITS-1]}}, b};
            /* verilator lint_off UNUSEDSIGNAL */
            wire [35:0] p36;
            /* verilator lint_on UNUSEDSIGNAL */
            MULT18X18D #(
                .REG_OUTPUT_CLK("CLK0"), .REG_OUTPUT_CE("CE0"), .REG_OUTPUT_RST("RST0"),
                .RESETMODE("SYNC"), .GSR("DISABLED")
            ) mul (
                .A0(a18[0]), .A1(a18[1]), .A2(a18[2]), .A3(a18[3]), .A4(a18[4]), .A5(a18[5]),
                .A6(a18[6]), .A7(a18[7]), .A8(a18[8]), .A9(a18[9]), .A10(a18[10]), .A11(a18[11]),
                .A12(a18[12]), .A13(a18[13]), .A14(a18[14]), .A15(a18[15]), .A16(a18[16]),
                .A17(a18[17]),
                .B0(b18[0]), .B1(b18[1]), .B2(b18[2]), .B3(b18[3]), .B4(b18[4]), .B5(b18[5]),
                .B6(b18[6]), .B7(b18[7]), .B8(b18[8]), .B9(b18[9]), .B10(b18[10]), .B11(b18[11]),
                .B12(b18[12]), .B13(b18[13]), .B14(b18[14]), .B15(b18[15]), .B16(b18[16]),
                .B17(b18[17]),
                .C0(1'b0), .C1(1'b0), .C2(1'b0), .C3(1'b0), .C4(1'b0), .C5(1'b0), .C6(1'b0),
                .C7(1'b0), .C8(1'b0), .C9(1'b0), .C10(1'b0), .C11(1'b0), .C12(1'b0), .C13(1'b0),
                .C14(1'b0), .C15(1'b0), .C16(1'b0), .C17(1'b0),
                .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
                .CLK0(clk), .CE0(1'b1), .RST0(clr),
                .P0(p36[0]), .P1(p36[1]), .P2(p36[2]), .P3(p36[3]), .P4(p36[4]), .P5(p36[5]),
                .P6(p36[6]), .P7(p36[7]), .P8(p36[8]), .P9(p36[9]), .P10(p36[10]), .P11(p36[11]),
                .P12(p36[12]), .P13(p36[13]), .P14(p36[14]), .P15(p36[15]), .P16(p36[16]),
                .P17(p36[17]), .P18(p36[18]), .P19(p36[19]), .P20(p36[20]), .P21(p36[21]),
                .P22(p36[22]), .P23(p36[23]), .P24(p36[24]), .P25(p36[25]), .P26(p36[26]),
                .P27(p36[27]), .P28(p36[28]), .P29(p36[29]), .P30(p36[30]), .P31(p36[31]),
                .P32(p36[32]), .P33(p36[33]), .P34(p36[34]), .P35(p36[35])
            );
            assign p = p36[A_BITS+B_BITS-1:0];
`endif
        end else begin : behavioural
            reg signed [A_BITS+B_BITS-1:0] p_r;
            always @(posedge clk)
                p_r <= clr ? {(A_BITS+B_BITS){1'b0}} : a_ext * b_ext;
            assign p = p_r;
        end
    endgenerate
endmodule
`default_nettype wire
