// One lane of the integer integrate-and-fire step, docs/fixed-point.md §4.2
// (and §4.3 with FIRES = 0, the readout):
//
//   sum   = v_in + current                       exact, one bit wider
//   fit   = sum in range ? sum : (SATURATE ? nearest end : low MEMBRANE_BITS bits)
//   spike = FIRES && fit >= theta
//   v_out = spike ? fit - theta : fit            (cannot overflow: 0 <= fit - theta < fit)
//
// Combinational; the layer engine registers around it. `overflow` flags the
// event the integer simulator counts. Verilog-2005; lint-clean under
// `verilator --lint-only -Wall`.
`timescale 1ns/1ps
module snn_if_neuron #(
    parameter integer MEMBRANE_BITS = 16,
    parameter integer ACC_BITS = 16,
    parameter integer THETA_BITS = 16,
    parameter integer SATURATE = 1,
    parameter integer FIRES = 1
) (
    input  wire signed [MEMBRANE_BITS-1:0] v_in,
    input  wire signed [ACC_BITS-1:0]      current,
    input  wire signed [THETA_BITS-1:0]    theta,
    output wire signed [MEMBRANE_BITS-1:0] v_out,
    output wire                            spike,
    output wire                            overflow
);
    // Wide enough for v_in + current and for comparing with theta.
    localparam integer W0 = (MEMBRANE_BITS > ACC_BITS ? MEMBRANE_BITS : ACC_BITS) + 1;
    localparam integer W = (W0 > THETA_BITS ? W0 : THETA_BITS + 1);

    wire signed [W-1:0] v_w = {{(W - MEMBRANE_BITS){v_in[MEMBRANE_BITS-1]}}, v_in};
    wire signed [W-1:0] i_w = {{(W - ACC_BITS){current[ACC_BITS-1]}}, current};
    wire signed [W-1:0] t_w = {{(W - THETA_BITS){theta[THETA_BITS-1]}}, theta};
    wire signed [W-1:0] sum = v_w + i_w;

    // The membrane format's range, sign-extended to W bits.
    wire signed [W-1:0] hi = {{(W - MEMBRANE_BITS + 1){1'b0}}, {(MEMBRANE_BITS - 1){1'b1}}};
    wire signed [W-1:0] lo = {{(W - MEMBRANE_BITS + 1){1'b1}}, {(MEMBRANE_BITS - 1){1'b0}}};

    wire above = sum > hi;
    wire below = sum < lo;
    assign overflow = above | below;

    wire signed [MEMBRANE_BITS-1:0] wrapped = sum[MEMBRANE_BITS-1:0];
    wire signed [MEMBRANE_BITS-1:0] fitted =
        (SATURATE != 0 && above) ? hi[MEMBRANE_BITS-1:0] :
        (SATURATE != 0 && below) ? lo[MEMBRANE_BITS-1:0] : wrapped;

    wire signed [W-1:0] fitted_w = {{(W - MEMBRANE_BITS){fitted[MEMBRANE_BITS-1]}}, fitted};
    wire fire = (FIRES != 0) && (fitted_w >= t_w);
    // Only the low MEMBRANE_BITS bits are used: when firing,
    // 0 <= fitted - theta < fitted, which fits the membrane format.
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [W-1:0] reset_w = fitted_w - t_w;
    /* verilator lint_on UNUSEDSIGNAL */

    assign spike = fire;
    assign v_out = fire ? reset_w[MEMBRANE_BITS-1:0] : fitted;
endmodule
