// The spike list between two layer engines: the entries {px, g, mask} (and
// the lanes' spike counts when a max gate reads them) that the producer
// pushes during its step, read back by the consumer during the next beat
// (docs/hardware.md, "Layers overlapped in time"). Two halves alternate:
// in a beat the producer appends to one half while the consumer reads the
// other, which holds the producer's previous step. `flip` (at the start of
// every beat, when both engines are idle) swaps them and empties the new
// write half. Reads are registered (one cycle); an index at or past
// `count` reads an entry no consumer uses.
`default_nettype none
`timescale 1ns/1ps
module snn_spike_list #(
    parameter integer ENTRY_BITS = 8,
    parameter integer DEPTH = 256,       // entries per half
    parameter integer INDEX_BITS = 9     // holds 0..DEPTH
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
    reg [ENTRY_BITS-1:0] entries [0:2 * (1 << ADDR_BITS) - 1];
    reg half;                            // the half being written
    reg [INDEX_BITS-1:0] wcount, rcount;
    assign count = rcount;
    // An index's top bit only reaches DEPTH (the end), never an entry.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [INDEX_BITS-1:0] index = read_index;
    /* verilator lint_on UNUSEDSIGNAL */

    always @(posedge clk) begin
        if (rst) begin
            half <= 1'b0;
            wcount <= 0;
            rcount <= 0;
        end else if (flip) begin
            half <= ~half;
            rcount <= wcount;
            wcount <= 0;
        end else if (push) begin
            entries[{half, wcount[ADDR_BITS-1:0]}] <= push_entry;
            wcount <= wcount + 1'b1;
        end
        read_entry <= entries[{~half, index[ADDR_BITS-1:0]}];
    end
endmodule
`default_nettype wire
