// The second half of the integer integrate-and-fire step, docs/fixed-point.md
// §4.2 (and §4.3 with FIRES = 0, the readout), from the exact sum
// `sum = V + I` (SUM_BITS wide, computed by the caller — the layer engine
// registers it, so no cycle holds both the addition and the compare):
//
//   fit   = sum in range ? sum : (SATURATE ? nearest end : low MEMBRANE_BITS bits)
//   spike = FIRES && fit >= theta
//   v_out = spike ? fit - theta : fit            (cannot overflow: 0 <= fit - theta < fit)
//
// The comparisons with the range ends and with theta and the subtraction
// of theta all start from `sum` in parallel, followed by one selection.
// Combinational; `overflow` flags the event the integer simulator counts.
`default_nettype none
`timescale 1ns/1ps
module snn_if_fit #(
    parameter integer MEMBRANE_BITS = 16,
    parameter integer SUM_BITS = 17,         // > MEMBRANE_BITS and > THETA_BITS
    parameter integer THETA_BITS = 16,
    parameter integer SATURATE = 1,
    parameter integer FIRES = 1
) (
    input  wire signed [SUM_BITS-1:0]      sum,
    input  wire signed [THETA_BITS-1:0]    theta,
    output wire signed [MEMBRANE_BITS-1:0] v_out,
    output wire                            spike,
    output wire                            overflow
);
    localparam integer W = SUM_BITS;
    localparam integer M = MEMBRANE_BITS;
    wire signed [W-1:0] t_w = {{(W - THETA_BITS){theta[THETA_BITS-1]}}, theta};
    // The membrane format's range, sign-extended to W bits.
    wire signed [W-1:0] hi = {{(W - M + 1){1'b0}}, {(M - 1){1'b1}}};
    wire signed [W-1:0] lo = {{(W - M + 1){1'b1}}, {(M - 1){1'b0}}};
    wire above = sum > hi;
    wire below = sum < lo;
    assign overflow = above | below;

    // Wrapping: the low M bits, compared as a signed M-bit number.
    wire signed [M-1:0] wrapped = sum[M-1:0];
    wire signed [W-1:0] wrapped_w = {{(W - M){wrapped[M-1]}}, wrapped};
    // In range (or wrapped), fit = the value itself.
    wire signed [W-1:0] fit_w = (SATURATE != 0) ? sum : wrapped_w;
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [W-1:0] reset_w = fit_w - t_w;
    wire signed [W-1:0] hi_reset = hi - t_w;
    wire signed [W-1:0] lo_reset = lo - t_w;
    /* verilator lint_on UNUSEDSIGNAL */
    wire fire_fit = fit_w >= t_w;
    // The saturated ends compared like any other value (theta is a
    // constant in the engines, so these fold away).
    wire fire_hi = hi >= t_w;
    wire fire_lo = lo >= t_w;

    wire sat_hi = (SATURATE != 0) && above;
    wire sat_lo = (SATURATE != 0) && below;
    wire fire = (FIRES != 0) && (sat_hi ? fire_hi : (sat_lo ? fire_lo : fire_fit));
    assign spike = fire;
    assign v_out = sat_hi ? (fire ? hi_reset[M-1:0] : hi[M-1:0])
                 : sat_lo ? (fire ? lo_reset[M-1:0] : lo[M-1:0])
                 : (fire ? reset_w[M-1:0] : fit_w[M-1:0]);
endmodule
`default_nettype wire
