// The read-out of a design (docs/hardware.md, "Interface"): reads the last
// engine's potentials or spike counts through its read port (one group per
// read, one cycle of latency) while that engine is idle.
//
//   scan   - walks every output neuron once and keeps the largest value,
//            its index (ties to the lowest index, docs/fixed-point.md §4.3)
//            and the second largest; `margin_ok` = top1 - top2 >= MARGIN
//            (the early cutoff's test, when CUTOFF = 1);
//   stream - sends every output value in neuron order on o_valid/o_ready,
//            o_last on the last, with the class of the last scan.
//
// Neuron n = px * C + c is lane c % LANES of group px * G + c / LANES.
`default_nettype none
`timescale 1ns/1ps
module snn_readout #(
    parameter integer LANES = 1,
    parameter integer C = 1,
    parameter integer G = 1,
    parameter integer N_PX = 1,
    parameter integer Q_BITS = 1,
    parameter integer VBITS = 8,
    parameter integer SIGNED = 1,          // potentials (signed) or counts (unsigned)
    parameter integer IDX_BITS = 1,
    parameter integer N_BITS = 1,          // holds 0..N_PX * C
    parameter integer CUTOFF = 0,
    parameter [VBITS+1:0] MARGIN = 0
) (
    input  wire clk,
    input  wire rst,
    input  wire scan,
    input  wire stream,
    output reg  busy,
    output reg  [IDX_BITS-1:0] class_idx,
    output reg  margin_ok,
    output reg  [Q_BITS-1:0] rd_addr,
    input  wire [LANES*VBITS-1:0] rd_data,
    output reg  o_valid,
    input  wire o_ready,
    output reg  [VBITS-1:0] o_value,
    output reg  o_last
);
    localparam [31:0] N32 = N_PX * C;
    localparam [31:0] C32 = C;
    localparam [31:0] G32 = G;
    // Walk state: neuron n at pixel px, channel c.
    reg walking, streaming;
    reg [N_BITS-1:0] n;
    reg [31:0] c, qpx;
    reg a1, a2, a3, a4;                  // a read issued 1 .. 4 cycles ago
    reg [31:0] lane1, lane2;
    reg [N_BITS-1:0] n1, n2;
    // (its top bit only counts to N, never an index)
    /* verilator lint_off UNUSEDSIGNAL */
    reg [N_BITS-1:0] n3, n4;
    /* verilator lint_on UNUSEDSIGNAL */
    // The scan compares a registered value (not the block RAM's output),
    // and registers the comparison before acting on it.
    reg signed [VBITS:0] v3, v4;
    reg gt_best, gt_second;
    reg wait_ack;                        // streaming: a value is offered
    // Values compared one bit wider, signed (counts zero-extended).
    reg signed [VBITS:0] best, second;
    // The lane of the value: an AND-OR mux, not a shifter.
    reg [VBITS-1:0] value;
    integer k;
    always @(*) begin
        value = {VBITS{1'b0}};
        for (k = 0; k < LANES; k = k + 1)
            if (lane2 == k) value = value | rd_data[k*VBITS +: VBITS];
    end
    wire signed [VBITS:0] v_ext = (SIGNED != 0) ? {value[VBITS-1], value} : {1'b0, value};
    localparam signed [VBITS:0] LOWEST = {1'b1, {VBITS{1'b0}}};
    // The cutoff's test, registered in two steps (the gap, then the
    // compare); the scan stays busy until both have settled.
    reg signed [VBITS+1:0] gap;
    reg a5, a6;
    wire last_n = n == N32[N_BITS-1:0] - 1'b1;
    // The next read: not while a streamed value waits for its transfer.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] addr32 = qpx + c / LANES;
    /* verilator lint_on UNUSEDSIGNAL */
    // A scan reads every other cycle: each comparison is registered and
    // applied the cycle after, before the next value arrives.
    wire issue = walking && (streaming ? (!a1 && !a2 && !wait_ack) : !a1);

    always @(posedge clk) begin
        if (rst) begin
            walking <= 1'b0;
            streaming <= 1'b0;
            busy <= 1'b0;
            a1 <= 1'b0;
            a2 <= 1'b0;
            a3 <= 1'b0;
            a4 <= 1'b0;
            a5 <= 1'b0;
            a6 <= 1'b0;
            margin_ok <= 1'b0;
            o_valid <= 1'b0;
            o_last <= 1'b0;
            wait_ack <= 1'b0;
            class_idx <= 0;
            best <= LOWEST;
            second <= LOWEST;
        end else begin
            if (scan || stream) begin
                walking <= 1'b1;
                streaming <= stream;
                busy <= 1'b1;
                n <= 0;
                c <= 0;
                qpx <= 0;
                if (scan) begin
                    best <= LOWEST;
                    second <= LOWEST;
                end
            end else if (issue) begin
                rd_addr <= addr32[Q_BITS-1:0];
                lane1 <= c % LANES;
                n1 <= n;
                if (last_n) walking <= 1'b0;
                n <= n + 1'b1;
                if (c == C32 - 1) begin
                    c <= 0;
                    qpx <= qpx + G32;
                end else begin
                    c <= c + 1;
                end
            end
            a1 <= issue && !scan && !stream;
            a2 <= a1;
            a3 <= a2 && !streaming;
            lane2 <= lane1;
            n2 <= n1;
            n3 <= n2;
            v3 <= v_ext;
            a4 <= a3;
            a5 <= a4;
            a6 <= a5;
            n4 <= n3;
            v4 <= v3;
            gt_best <= v3 > best;
            gt_second <= v3 > second;
            // rd_addr was presented in cycle a1; the data is here in a2.
            if (a2) begin
                if (streaming) begin
                    o_valid <= 1'b1;
                    o_value <= value;
                    o_last <= n2 == N32[N_BITS-1:0] - 1'b1;
                    wait_ack <= 1'b1;
                end
            end
            if (a4) begin
                if (gt_best) begin
                    second <= best;
                    best <= v4;
                    class_idx <= n4[IDX_BITS-1:0];
                end else if (gt_second) begin
                    second <= v4;
                end
            end
            if (o_valid && o_ready) begin
                o_valid <= 1'b0;
                wait_ack <= 1'b0;
            end
            gap <= {best[VBITS], best} - {second[VBITS], second};
            // A read-out of one neuron has no runner-up and never stops (§4.6).
            margin_ok <= (CUTOFF != 0) && (N_PX * C >= 2) && ($signed(gap) >= $signed(MARGIN));
            if (busy && !walking && !a1 && !a2 && !a3 && !a4 && !a5 && !a6
                && !(o_valid && !o_ready) && !wait_ack && !scan && !stream)
                busy <= 1'b0;
            if (o_valid && o_ready && o_last) busy <= 1'b0;
        end
    end
endmodule
`default_nettype wire
