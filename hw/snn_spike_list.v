// The spike list between two layer engines: the entries {px, g, mask} that
// the producer pushes during its step, read back by a consumer in a later beat
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
    localparam [RING_BITS-1:0] RING_LAST = H32[RING_BITS-1:0] - 1'b1;
    // Small lists in distributed RAM where the flow asks (hw/snn_layer.v).
`ifdef SNNCC_LUTRAM
    localparam integer LUTRAM_MAX = 8192;
`else
    localparam integer LUTRAM_MAX = 0;
`endif
    /* verilator lint_off UNUSEDPARAM */
    localparam STYLE = (HALVES * (1 << ADDR_BITS) * ENTRY_BITS <= LUTRAM_MAX) ? "distributed" : "auto";
    /* verilator lint_on UNUSEDPARAM */
    (* ram_style = STYLE *) reg [ENTRY_BITS-1:0] entries [0:HALVES * (1 << ADDR_BITS) - 1];
    reg [RING_BITS-1:0] wbuf;            // the buffer being written
    // The buffer read: the next along the ring (the oldest step), derived
    // from wbuf so that synthesis sees it never equals wbuf (no write-read
    // collision logic around the block RAM).
    wire [RING_BITS-1:0] rbuf = (wbuf == RING_LAST) ? {RING_BITS{1'b0}} : wbuf + 1'b1;
    reg [INDEX_BITS-1:0] wcount;
    // Entries of the steps held, the newest in the low bits: the reader's
    // is the highest.
    localparam integer HELD_BITS = (HALVES - 1) * INDEX_BITS;
    reg [HELD_BITS-1:0] held;
    wire [HELD_BITS-1:0] held_next;
    assign count = held[HELD_BITS-1 -: INDEX_BITS];
    generate
        if (HALVES == 2) begin : one_held
            assign held_next = wcount;
        end else begin : ring
            assign held_next = {held[HELD_BITS-INDEX_BITS-1:0], wcount};
        end
    endgenerate
    // An index's top bit only reaches DEPTH (the end), never an entry.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [INDEX_BITS-1:0] index = read_index;
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (rst) begin
            wbuf <= {RING_BITS{1'b0}};
            wcount <= 0;
            held <= {HELD_BITS{1'b0}};
        end else if (flip) begin
            wbuf <= rbuf;
            held <= held_next;
            wcount <= 0;
        end else if (push) begin
            entries[{wbuf, wcount[ADDR_BITS-1:0]}] <= push_entry;
            wcount <= wcount + 1'b1;
        end
        read_entry <= entries[{rbuf, index[ADDR_BITS-1:0]}];
    end
endmodule
`default_nettype wire
