// The spike list between two layer engines: the entries {px, g, mask} (and
// the lanes' spike counts when a max gate reads them) that the producer
// pushes during its step, read back by a consumer in a later beat
// (docs/hardware.md, "Layers overlapped in time"). HALVES step buffers form
// a ring: in a beat the producer appends to one while the consumer reads
// the one written HALVES - 1 beats before. Two (the default) serve the next
// engine, which reads the producer's previous step; a residual engine that
// reads a layer d engines back gets its own list of d + 1 (docs/hardware.md,
// "Residual adds"). `flip` (at the start of every beat, when the engines
// are idle) moves both along the ring and empties the new write buffer.
// Reads are registered (one cycle); an index at or past `count` reads an
// entry no consumer uses.
`default_nettype none
`timescale 1ns/1ps
module snn_spike_list #(
    parameter integer ENTRY_BITS = 8,
    parameter integer DEPTH = 256,       // entries per step buffer
    parameter integer INDEX_BITS = 9,    // holds 0..DEPTH
    parameter integer HALVES = 2         // step buffers (the reader lags HALVES - 1 beats)
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  flip,
    input  wire                  push,
    input  wire [ENTRY_BITS-1:0] push_entry,
    input  wire [INDEX_BITS-1:0] read_index,
    output reg  [ENTRY_BITS-1:0] read_entry,
    output wire [INDEX_BITS-1:0] count
);
    localparam integer ADDR_BITS = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    localparam integer RING_BITS = (HALVES > 2) ? $clog2(HALVES) : 1;
    localparam [31:0] H32 = HALVES;
    localparam [31:0] ONE32 = 1;
    localparam [RING_BITS-1:0] RING_LAST = H32[RING_BITS-1:0] - 1'b1;
    localparam [RING_BITS-1:0] RING_ONE = ONE32[RING_BITS-1:0];
    reg [ENTRY_BITS-1:0] entries [0:HALVES * (1 << ADDR_BITS) - 1];
    reg [RING_BITS-1:0] wbuf, rbuf;      // the buffer being written; being read
    reg [INDEX_BITS-1:0] wcount;
    // Entries of the steps held, the newest first: the reader's is the last.
    reg [INDEX_BITS-1:0] held [0:HALVES-2];
    assign count = held[HALVES-2];
    // An index's top bit only reaches DEPTH (the end), never an entry.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [INDEX_BITS-1:0] index = read_index;
    /* verilator lint_on UNUSEDSIGNAL */
    integer k;

    always @(posedge clk) begin
        if (rst) begin
            wbuf <= {RING_BITS{1'b0}};
            rbuf <= RING_ONE;
            wcount <= 0;
            for (k = 0; k < HALVES - 1; k = k + 1) held[k] <= 0;
        end else if (flip) begin
            wbuf <= (wbuf == RING_LAST) ? {RING_BITS{1'b0}} : wbuf + 1'b1;
            rbuf <= (rbuf == RING_LAST) ? {RING_BITS{1'b0}} : rbuf + 1'b1;
            held[0] <= wcount;
            for (k = 1; k < HALVES - 1; k = k + 1) held[k] <= held[k - 1];
            wcount <= 0;
        end else if (push) begin
            entries[{wbuf, wcount[ADDR_BITS-1:0]}] <= push_entry;
            wcount <= wcount + 1'b1;
        end
        read_entry <= entries[{rbuf, index[ADDR_BITS-1:0]}];
    end
endmodule
`default_nettype wire
