// Single-port RAM with a registered read (one cycle of latency), so Yosys
// maps it to block RAM, and optional $readmemh initialisation (weights,
// biases). Writes take effect at the clock edge; a read in the same cycle
// as a write to the same address returns the old value (read-first).
`timescale 1ns/1ps
`default_nettype none
module snn_ram #(
    parameter integer WIDTH = 8,
    parameter integer DEPTH = 16,
    parameter integer ADDR_BITS = 4,
    // Path of a $readmemh file, or "" for no initialisation.
    parameter INIT = ""
) (
    input  wire                 clk,
    input  wire [ADDR_BITS-1:0] addr,
    input  wire                 we,
    input  wire [WIDTH-1:0]     wdata,
    output reg  [WIDTH-1:0]     rdata
);
    reg [WIDTH-1:0] mem [0:DEPTH-1];

    initial begin
        if (INIT != "") $readmemh(INIT, mem);
    end

    always @(posedge clk) begin
        if (we) mem[addr] <= wdata;
        rdata <= mem[addr];
    end
endmodule
`default_nettype wire
