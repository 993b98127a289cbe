// One lane of the integer integrate-and-fire step, docs/fixed-point.md §4.2
// (and §4.3 with FIRES = 0, the readout), combinational:
//
//   sum   = v_in + current                       exact, one bit wider
//   fit   = sum in range ? sum : (SATURATE ? nearest end : low MEMBRANE_BITS bits)
//   spike = FIRES && fit >= theta
//   v_out = spike ? fit - theta : fit            (cannot overflow: 0 <= fit - theta < fit)
//
// The fit, compare and reset are snn_if_fit's (the one implementation the
// layer engines use, with a register between the sum and the fit); this
// module joins them for the specification tests. BURST > 1: burst spikes,
// `fires` the thermometer code of the spikes (snn_if_fit), one spike while
// `bursting` is low. Verilog-2005; lint-clean
// under `verilator --lint-only -Wall`.
`default_nettype none
`timescale 1ns/1ps
module snn_if_neuron #(
    parameter integer MEMBRANE_BITS = 16,
    parameter integer ACC_BITS = 16,
    parameter integer THETA_BITS = 16,
    parameter integer SATURATE = 1,
    parameter integer FIRES = 1,
    parameter integer BURST = 1
) (
    input  wire signed [MEMBRANE_BITS-1:0] v_in,
    input  wire signed [ACC_BITS-1:0]      current,
    input  wire signed [THETA_BITS-1:0]    theta,
    input  wire                            bursting,
    output wire signed [MEMBRANE_BITS-1:0] v_out,
    output wire                            spike,
    output wire [BURST-1:0]                fires,
    output wire                            overflow
);
    // Wide enough for v_in + current and for comparing with theta.
    localparam integer W0 = (MEMBRANE_BITS > ACC_BITS ? MEMBRANE_BITS : ACC_BITS) + 1;
    localparam integer W = (W0 > THETA_BITS ? W0 : THETA_BITS + 1);
    wire signed [W-1:0] v_w = {{(W - MEMBRANE_BITS){v_in[MEMBRANE_BITS-1]}}, v_in};
    wire signed [W-1:0] i_w = {{(W - ACC_BITS){current[ACC_BITS-1]}}, current};
    wire signed [W-1:0] sum = v_w + i_w;
    snn_if_fit #(
        .MEMBRANE_BITS(MEMBRANE_BITS), .SUM_BITS(W), .THETA_BITS(THETA_BITS),
        .SATURATE(SATURATE), .FIRES(FIRES), .BURST(BURST)
    ) fit (
        .sum(sum), .theta(theta), .bursting(bursting), .v_out(v_out), .spike(spike), .fires(fires),
        .overflow(overflow)
    );
endmodule
`default_nettype wire
