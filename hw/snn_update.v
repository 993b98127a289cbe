// The update of one group of LANES neurons (docs/fixed-point.md §4.2-4.3):
// V = fit(V + I), fire when V >= theta (V -= theta), count the spike, with
// I = in_b + in_i (the bias and the synaptic sum the current bank holds;
// snncc sizes ACC_BITS so that the sum is exact). The layer engine hands
// over a group's words (membrane, current, bias, counts) and
// bookkeeping (`in_meta`, returned with the result); SER = 1 updates every
// lane at once, SER = K > 1 does LANES / K lanes per cycle over K cycles
// with LANES / K IF units (an engine whose sweep is short next to the beat
// needs no more; docs/hardware.md, "Lanes and update units"). The engine
// hands over at most one group every SER cycles. With BURST = B > 1 (burst
// spikes, §4.2) a neuron fires up to B times a step: `out_fired` holds B
// lane masks, mask j - 1 the lanes that fired at least j times (the spike
// list gets one entry per non-empty mask, hw/snn_layer.v), and counts grow
// by the spikes.
//
// Stages: capture the words -> a chunk of them -> its current (bias +
// sum) -> the exact sums V + I -> fit and fire -> collect the chunk;
// `out_valid` one cycle after a group's last chunk is collected. No stage
// holds more than one addition and one compare, and the chunk's
// multiplexer (SER > 1) has a stage of its own.
`default_nettype none
`timescale 1ns/1ps
module snn_update #(
    parameter integer LANES = 1,
    parameter integer SER = 1,             // cycles per group (divides LANES)
    parameter integer MEMBRANE_BITS = 16,
    parameter integer ACC_BITS = 16,
    parameter integer THETA_BITS = 16,
    parameter [THETA_BITS-1:0] THETA = 1,
    parameter integer SATURATE = 1,
    parameter integer FIRES = 1,
    parameter integer COUNT_BITS = 1,
    parameter integer META_BITS = 1,
    parameter integer BURST = 1
) (
    input  wire clk,
    input  wire rst,
    input  wire in_valid,
    input  wire first,                     // the image's first step: V0 and count 0
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire bursting,                  // bursts have begun (BURST > 1; steady within a step)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [LANES*MEMBRANE_BITS-1:0] in_v,
    input  wire [LANES*MEMBRANE_BITS-1:0] in_v0,  // each lane's V0 (taken at the first step)
    input  wire [LANES*ACC_BITS-1:0] in_i,
    input  wire [LANES*ACC_BITS-1:0] in_b,
    input  wire [LANES*COUNT_BITS-1:0] in_c,
    input  wire [LANES-1:0] in_lanes,      // lanes that are channels (the rest never fire)
    input  wire [META_BITS-1:0] in_meta,
    output reg  out_valid,
    output wire [LANES*MEMBRANE_BITS-1:0] out_v,
    output wire [LANES*COUNT_BITS-1:0] out_c,
    output wire [BURST*LANES-1:0] out_fired,  // mask j - 1: lanes that fired >= j times
    output reg  [META_BITS-1:0] out_meta,
    output wire busy,
    // What out_valid and out_meta become at the next edge (so the engine
    // can register decisions about the result's write).
    output wire pre_valid,
    output wire [META_BITS-1:0] pre_meta,
    // ... and what pre_valid and pre_meta become at the next edge (so the
    // engine can register a decision about the result's write a cycle
    // before it is due: pre_valid itself fans out to every bank).
    output wire pre2_valid,
    output wire [META_BITS-1:0] pre2_meta
);
    localparam integer U = LANES / SER;    // IF units
    localparam integer M = MEMBRANE_BITS;
    localparam integer A = ACC_BITS;
    localparam integer C = COUNT_BITS;
    localparam integer S0 = (M > A ? M : A) + 1;
    localparam integer SUM_BITS = (S0 > THETA_BITS ? S0 : THETA_BITS + 1);
    localparam integer J_BITS = (SER > 1) ? $clog2(SER) : 1;

    // Captured group.
    reg w_on;
    reg [J_BITS-1:0] w_j;
    reg [LANES*M-1:0] w_v;
    reg [LANES*A-1:0] w_i, w_b;
    reg [LANES*C-1:0] w_c;
    reg [LANES-1:0] w_lanes;
    reg [META_BITS-1:0] w_meta;
    localparam [31:0] SER32 = SER;
    wire w_last = (w_j == SER32[J_BITS-1:0] - 1'b1);

    // The chunk of lanes j*U .. j*U+U-1 (an AND-OR mux over the chunks).
    reg [U*M-1:0] ch_v;
    reg [U*A-1:0] ch_i, ch_b;
    reg [U*C-1:0] ch_c;
    reg [U-1:0] ch_lanes;
    integer k, b2;
    always @(*) begin
        ch_v = {(U*M){1'b0}};
        ch_i = {(U*A){1'b0}};
        ch_b = {(U*A){1'b0}};
        ch_c = {(U*C){1'b0}};
        ch_lanes = {U{1'b0}};
        for (k = 0; k < SER; k = k + 1)
            if (w_j == k[J_BITS-1:0]) begin
                ch_v = ch_v | w_v[k*U*M +: U*M];
                ch_i = ch_i | w_i[k*U*A +: U*A];
                ch_b = ch_b | w_b[k*U*A +: U*A];
                ch_c = ch_c | w_c[k*U*C +: U*C];
                ch_lanes = ch_lanes | w_lanes[k*U +: U];
            end
    end

    // Chunk stage.
    reg k_on, k_last;
    reg [J_BITS-1:0] k_j;
    reg [U*M-1:0] k_v;
    reg [U*A-1:0] k_i, k_b;
    reg [U*C-1:0] k_c;
    reg [U-1:0] k_lanes;
    reg [META_BITS-1:0] k_meta;
    // Current stage: I = bias + sum, exact in A bits.
    reg p_on, p_last;
    reg [J_BITS-1:0] p_j;
    reg [U*M-1:0] p_v;
    reg [U*A-1:0] p_i;
    reg [U*C-1:0] p_c;
    reg [U-1:0] p_lanes;
    reg [META_BITS-1:0] p_meta;
    // Sum stage.
    reg s_on, s_last;
    reg [J_BITS-1:0] s_j;
    reg [U*SUM_BITS-1:0] s_sum;
    reg [U*C-1:0] s_c;
    reg [U-1:0] s_lanes;
    reg [META_BITS-1:0] s_meta;
    // Fit stage.
    reg f_on, f_last;
    reg [J_BITS-1:0] f_j;
    reg [U*M-1:0] f_v;
    reg [U*C-1:0] f_c;
    reg [BURST*U-1:0] f_fired;           // level j - 1 at [(j-1)*U +: U]
    reg [META_BITS-1:0] f_meta;
    // Collected group.
    reg [LANES*M-1:0] acc_v;
    reg [LANES*C-1:0] acc_c;
    reg [BURST*LANES-1:0] acc_fired;

    wire [U*A-1:0] i_next;
    wire [U*SUM_BITS-1:0] sum_next;
    wire [U*M-1:0] fit_v;
    wire [BURST*U-1:0] fit_fires;        // level-major, like f_fired
    wire [U*C-1:0] c_next;
    genvar l, j;
    generate
        for (l = 0; l < U; l = l + 1) begin : unit
            assign i_next[l*A +: A] = k_i[l*A +: A] + k_b[l*A +: A];
            wire signed [M-1:0] v_old = p_v[l*M +: M];
            wire signed [A-1:0] i_old = p_i[l*A +: A];
            assign sum_next[l*SUM_BITS +: SUM_BITS] =
                $signed({{(SUM_BITS - M){v_old[M-1]}}, v_old})
                + $signed({{(SUM_BITS - A){i_old[A-1]}}, i_old});
            /* verilator lint_off PINCONNECTEMPTY */
            snn_if_fit #(
                .MEMBRANE_BITS(M), .SUM_BITS(SUM_BITS), .THETA_BITS(THETA_BITS),
                .SATURATE(SATURATE), .FIRES(FIRES), .BURST(BURST)
            ) fit (
                .sum(s_sum[l*SUM_BITS +: SUM_BITS]), .theta(THETA), .bursting(bursting),
                .v_out(fit_v[l*M +: M]), .spike(), .fires(fires_l), .overflow()
            );
            /* verilator lint_on PINCONNECTEMPTY */
            wire [BURST-1:0] fires_l;
            // A lane past the last channel never fires.
            wire [BURST-1:0] fired_l = fires_l & {BURST{s_lanes[l]}};
            // The lane's spikes: the thermometer's ones.
            reg [C-1:0] k_l;
            integer b;
            always @(*) begin
                k_l = {C{1'b0}};
                for (b = 0; b < BURST; b = b + 1)
                    k_l = k_l + {{(C - 1){1'b0}}, fired_l[b]};
            end
            for (j = 0; j < BURST; j = j + 1) begin : level
                assign fit_fires[j*U + l] = fired_l[j];
            end
            assign c_next[l*C +: C] = s_c[l*C +: C] + k_l;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            w_on <= 1'b0;
            k_on <= 1'b0;
            p_on <= 1'b0;
            s_on <= 1'b0;
            f_on <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            // capture (the engine hands over at most one group per SER cycles)
            if (in_valid) begin
                w_on <= 1'b1;
                w_j <= 0;
            end else if (w_on) begin
                if (w_last) w_on <= 1'b0;
                w_j <= w_j + 1'b1;
            end
            k_on <= w_on;
            p_on <= k_on;
            s_on <= p_on;
            f_on <= s_on;
            out_valid <= f_on && f_last;
        end
        if (in_valid) begin
            // The image's first step starts from V0 (a merged state word
            // reads V = 0 then, and its bank holds the sum alone).
            w_v <= first ? in_v0 : in_v;
            w_i <= in_i;
            w_b <= in_b;
            w_c <= first ? {(LANES*C){1'b0}} : in_c;
            w_lanes <= in_lanes;
            w_meta <= in_meta;
        end
        // chunk
        k_v <= ch_v;
        k_i <= ch_i;
        k_b <= ch_b;
        k_c <= ch_c;
        k_lanes <= ch_lanes;
        k_j <= w_j;
        k_last <= w_last;
        k_meta <= w_meta;
        // current
        p_i <= i_next;
        p_v <= k_v;
        p_c <= k_c;
        p_lanes <= k_lanes;
        p_j <= k_j;
        p_last <= k_last;
        p_meta <= k_meta;
        // sum
        s_sum <= sum_next;
        s_c <= p_c;
        s_lanes <= p_lanes;
        s_j <= p_j;
        s_last <= p_last;
        s_meta <= p_meta;
        // fit and fire
        f_v <= fit_v;
        f_fired <= fit_fires;
        f_c <= c_next;
        f_j <= s_j;
        f_last <= s_last;
        f_meta <= s_meta;
        // collect
        if (f_on) begin
            for (k = 0; k < SER; k = k + 1)
                if (f_j == k[J_BITS-1:0]) begin
                    acc_v[k*U*M +: U*M] <= f_v;
                    acc_c[k*U*C +: U*C] <= f_c;
                    for (b2 = 0; b2 < BURST; b2 = b2 + 1)
                        acc_fired[b2*LANES + k*U +: U] <= f_fired[b2*U +: U];
                end
        end
        if (f_on && f_last) out_meta <= f_meta;
    end
    assign out_v = acc_v;
    assign out_c = acc_c;
    assign out_fired = acc_fired;
    assign busy = w_on || k_on || p_on || s_on || f_on || out_valid;
    assign pre_valid = f_on && f_last;
    assign pre_meta = f_meta;
    assign pre2_valid = s_on && s_last;
    assign pre2_meta = s_meta;
endmodule
`default_nettype wire
