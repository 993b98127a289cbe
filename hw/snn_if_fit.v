// The second half of the integer integrate-and-fire step, docs/fixed-point.md
// §4.2 (and §4.3 with FIRES = 0, the readout), from the exact sum
// `sum = V + I` (SUM_BITS wide, computed by the caller — the layer engine
// registers it, so no cycle holds both the addition and the compare):
//
//   fit   = sum in range ? sum : (SATURATE ? nearest end : low MEMBRANE_BITS bits)
//   spike = FIRES && fit >= theta
//   v_out = spike ? fit - theta : fit            (cannot overflow: 0 <= fit - theta < fit)
//
// Overflow is read off the sum's top bits; one subtraction gives both the
// compare with theta (its sign) and the reset.
// With BURST = B > 1 (burst spikes, §4.2) the neuron fires k = the number
// of j in 1..B with fit >= j theta times and v_out = fit - k theta: B
// subtractions side by side (j theta is a constant in the engines), whose
// signs are the thermometer code `fires` (bit j - 1: fired at least j
// times; `spike` is bit 0), and a selection. Bursting the same way as the
// simulators' passes (V >= theta: fire, V -= theta, at most B times), as
// theta > 0. `bursting` low (a step before bursts begin, §4.2) keeps one
// spike: levels 2..B never fire.
// Combinational; `overflow` flags the event the integer simulator counts.
`default_nettype none
`timescale 1ns/1ps
module snn_if_fit #(
    parameter integer MEMBRANE_BITS = 16,
    parameter integer SUM_BITS = 17,         // > MEMBRANE_BITS and > THETA_BITS
    parameter integer THETA_BITS = 16,
    parameter integer SATURATE = 1,
    parameter integer FIRES = 1,
    parameter integer BURST = 1
) (
    input  wire signed [SUM_BITS-1:0]      sum,
    input  wire signed [THETA_BITS-1:0]    theta,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire                            bursting,   // (read only when BURST > 1)
    /* verilator lint_on UNUSEDSIGNAL */
    output wire signed [MEMBRANE_BITS-1:0] v_out,
    output wire                            spike,
    output wire [BURST-1:0]                fires,
    output wire                            overflow
);
    localparam integer W = SUM_BITS;
    localparam integer M = MEMBRANE_BITS;
    // The sum is outside the membrane format exactly when its bits above
    // the format's sign bit are not all copies of it: a reduction, not a
    // comparator. The sign says which end.
    wire [W-M:0] top = sum[W-1:M-1];
    assign overflow = !(&top) && (|top);
    wire above = overflow && !sum[W-1];
    wire below = overflow && sum[W-1];
    // The membrane format's ends.
    wire signed [M-1:0] hi = {1'b0, {(M - 1){1'b1}}};
    wire signed [M-1:0] lo = {1'b1, {(M - 1){1'b0}}};
    // fit: the sum in range, the nearest end when saturating, else its low
    // M bits (wrapping).
    wire signed [M-1:0] fitted = (SATURATE != 0 && above) ? hi
                            : (SATURATE != 0 && below) ? lo
                            : sum[M-1:0];
    // fit - j theta, wide enough for B theta and one bit more, serves both
    // the compare (its sign) and the reset.
    localparam integer JB = (BURST > 1) ? $clog2(BURST + 1) : 0;
    localparam integer D = (M > THETA_BITS + JB ? M : THETA_BITS + JB) + 1;
    wire signed [D-1:0] fit_d = {{(D - M){fitted[M-1]}}, fitted};
    wire signed [D-1:0] t_d = {{(D - THETA_BITS){theta[THETA_BITS-1]}}, theta};
    wire [BURST*M-1:0] after;            // fit - j theta, j = 1..B, low M bits
    // j theta as shifts and adds over the bits of j (constant in the
    // engines, whose theta is).
    function automatic [D-1:0] times(input [D-1:0] t, input integer n);
        integer b;
        begin
            times = {D{1'b0}};
            for (b = 0; b < 31; b = b + 1)
                if (((n >> b) & 1) != 0) times = times + (t << b);
        end
    endfunction
    genvar j;
    generate
        for (j = 1; j <= BURST; j = j + 1) begin : level
            wire signed [D-1:0] diff = fit_d - $signed(times(t_d, j));
            assign fires[j-1] = (FIRES != 0) && !diff[D-1] && (j == 1 || bursting);
            assign after[(j-1)*M +: M] = diff[M-1:0];
        end
    endgenerate
    assign spike = fires[0];
    // When firing k times, 0 <= fit - k theta < fit, so it fits the
    // membrane format. The highest level reached wins (a thermometer).
    reg [M-1:0] v_sel;
    integer k;
    always @(*) begin
        v_sel = fitted;
        for (k = 0; k < BURST; k = k + 1)
            if (fires[k]) v_sel = after[k*M +: M];
    end
    assign v_out = v_sel;
endmodule
`default_nettype wire
