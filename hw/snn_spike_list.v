// The spike list of one layer for one step: entries {px, g, mask} (the
// groups with a spike, docs/hardware.md) appended during the producer's
// update phase and read back by the next layer's scatter phase. `clear`
// empties it (the producer's start of a step); `count` is the number of
// entries. Reads are registered (one cycle); an index at or past `count`
// reads a stale or undefined entry, which consumers never use.
`timescale 1ns/1ps
module snn_spike_list #(
    parameter integer ENTRY_BITS = 8,
    parameter integer DEPTH = 256,
    parameter integer INDEX_BITS = 9    // holds 0..DEPTH
) (
    input  wire                  clk,
    input  wire                  clear,
    input  wire                  push,
    input  wire [ENTRY_BITS-1:0] push_entry,
    input  wire [INDEX_BITS-1:0] read_index,
    output reg  [ENTRY_BITS-1:0] read_entry,
    output reg  [INDEX_BITS-1:0] count
);
    localparam integer ADDR_BITS = (DEPTH > 1) ? $clog2(DEPTH) : 1;
    reg [ENTRY_BITS-1:0] entries [0:DEPTH-1];
    // The index's top bit only reaches DEPTH (the end), never an entry.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [INDEX_BITS-1:0] index = read_index;
    /* verilator lint_on UNUSEDSIGNAL */

    initial count = 0;

    always @(posedge clk) begin
        if (clear) begin
            count <= 0;
        end else if (push) begin
            entries[count[ADDR_BITS-1:0]] <= push_entry;
            count <= count + 1'b1;
        end
        read_entry <= entries[index[ADDR_BITS-1:0]];
    end
endmodule
