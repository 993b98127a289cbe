// A small first-in first-out buffer of registers between the stages of a
// layer engine's walker (docs/hardware.md, "The scatter pipeline"). The head
// is a register read (`dout` is valid while `!empty`); `level` is registered,
// so a producer can decide from registers alone whether it may issue a
// read whose data arrives a cycle later (level + in flight < DEPTH).
`default_nettype none
`timescale 1ns/1ps
module snn_fifo #(
    parameter integer WIDTH = 8,
    parameter integer AW = 2             // DEPTH = 2**AW entries
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             push,
    input  wire [WIDTH-1:0] din,
    input  wire             pop,
    output wire [WIDTH-1:0] dout,
    output wire             empty,
    output reg  [AW:0]      level
);
    reg [WIDTH-1:0] mem [0:(1 << AW) - 1];
    reg [AW-1:0] wp, rp;
    assign dout = mem[rp];
    assign empty = (level == 0);
    always @(posedge clk) begin
        if (rst) begin
            wp <= 0;
            rp <= 0;
            level <= 0;
        end else begin
            if (push) begin
                mem[wp] <= din;
                wp <= wp + 1'b1;
            end
            if (pop) rp <= rp + 1'b1;
            case ({push, pop})
                2'b10: level <= level + 1'b1;
                2'b01: level <= level - 1'b1;
                default: ;
            endcase
        end
    end
endmodule
`default_nettype wire
