// The spike list of one layer for one step: addresses of the neurons that
// fired, appended in increasing order during the update phase and read back
// by the next layer's scatter phase. `clear` empties it (start of a step);
// `count` is the number of entries. Reads are registered (one cycle).
`timescale 1ns/1ps
module snn_spike_list #(
    parameter integer ADDR_BITS = 8,
    parameter integer DEPTH = 256,
    parameter integer COUNT_BITS = 9
) (
    input  wire                  clk,
    input  wire                  clear,
    input  wire                  push,
    input  wire [ADDR_BITS-1:0]  push_addr,
    input  wire [ADDR_BITS-1:0]  read_index,
    output reg  [ADDR_BITS-1:0]  read_addr,
    output reg  [COUNT_BITS-1:0] count
);
    reg [ADDR_BITS-1:0] entries [0:DEPTH-1];

    initial count = 0;

    always @(posedge clk) begin
        if (clear) begin
            count <= 0;
        end else if (push) begin
            entries[count[ADDR_BITS-1:0]] <= push_addr;
            count <= count + 1'b1;
        end
        read_addr <= entries[read_index];
    end
endmodule
