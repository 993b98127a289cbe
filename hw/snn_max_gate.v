// A spiking max-pooling gate (docs/ecc.md, docs/fixed-point.md §4.5): for
// each spike of its source and each window it falls in, the output fires
// when the source neuron's spike count exceeds the output's own count, and
// its count grows by one. No arithmetic beyond the counts.
//
// Same group layout and entries {px, g, mask} as hw/snn_layer.v: an entry's
// lanes are handled together (source and output share channels). The
// routing tables are those of a pooling window: OFFS_INIT {start, count}
// per source pixel, TAP_INIT {kk, out_px} (kk unused). The source's spike
// counts are read through its count port (it is idle while the gate runs).
//
// Cycles: init N_GROUPS; per step 2 per source entry + 1 per tap + 3.
// An entry's taps target distinct outputs and the next entry's first read
// comes two cycles after the last write, so no forwarding is needed.
`timescale 1ns/1ps
module snn_max_gate #(
    parameter integer LANES = 1,
    parameter integer G = 1,
    parameter integer N_GROUPS = 1,
    parameter integer SRC_PX = 1,
    parameter integer SRC_PX_BITS = 1,
    parameter integer SRC_Q_BITS = 1,
    parameter integer LIST_BITS = 1,
    parameter integer PX_BITS = 1,
    parameter integer G_BITS = 1,
    parameter integer Q_BITS = 1,
    parameter integer N_TAPS = 1,
    parameter integer TAP_BITS = 1,
    parameter integer TAP_COUNT_BITS = 1,
    parameter integer KK_BITS = 1,
    parameter integer COUNT_BITS = 1,
    parameter TAP_INIT = "",
    parameter OFFS_INIT = ""
) (
    input  wire clk,
    input  wire init,
    input  wire start,
    output reg  done,
    input  wire [LIST_BITS-1:0] src_count,
    output wire [LIST_BITS-1:0] src_index,
    input  wire [SRC_PX_BITS+G_BITS+LANES-1:0] src_entry,
    // the source's spike counts (registered read)
    output wire [SRC_Q_BITS-1:0] src_c_addr,
    input  wire [LANES*COUNT_BITS-1:0] src_c_data,
    output reg  push,
    output reg  [PX_BITS+G_BITS+LANES-1:0] push_entry
);
    localparam integer E_BITS = SRC_PX_BITS + G_BITS + LANES;
    localparam integer OFFS_BITS = TAP_BITS + TAP_COUNT_BITS;
    localparam integer TAPW_BITS = KK_BITS + PX_BITS;

    reg [TAPW_BITS-1:0] taps [0:N_TAPS-1];
    reg [OFFS_BITS-1:0] offs [0:SRC_PX-1];
    reg [LANES*COUNT_BITS-1:0] counts [0:N_GROUPS-1];

    initial begin
        if (TAP_INIT != "") $readmemh(TAP_INIT, taps);
        if (OFFS_INIT != "") $readmemh(OFFS_INIT, offs);
    end

    localparam [2:0] IDLE = 3'd0, INIT = 3'd1, ENTRY = 3'd2, OFFS = 3'd3, TAP = 3'd4,
                     PREP = 3'd5, FINISH = 3'd6;
    reg [2:0] state, state_n;
    reg [LIST_BITS-1:0] k, k_n;
    reg [G_BITS-1:0] e_g, e_g_n;
    reg [LANES-1:0] e_mask, e_mask_n;
    reg [LANES*COUNT_BITS-1:0] e_counts, e_counts_n;  // the source's counts of the entry
    reg [TAP_BITS-1:0] t_j, t_j_n, t_end, t_end_n;
    reg [Q_BITS-1:0] q, q_n;
    reg done_n;

    reg [OFFS_BITS-1:0] offs_q;
    reg [TAPW_BITS-1:0] tap_q;
    reg [LANES*COUNT_BITS-1:0] g_q;

    wire [SRC_PX_BITS-1:0] in_px = src_entry[E_BITS-1:G_BITS+LANES];
    wire [G_BITS-1:0] in_g = src_entry[G_BITS+LANES-1:LANES];
    wire [LANES-1:0] in_mask = src_entry[LANES-1:0];
    wire [TAP_BITS-1:0] offs_start = offs_q[OFFS_BITS-1:TAP_COUNT_BITS];
    wire [TAP_COUNT_BITS-1:0] offs_count = offs_q[TAP_COUNT_BITS-1:0];
    wire [PX_BITS-1:0] tap_px = tap_q[PX_BITS-1:0];

    /* verilator lint_off UNUSEDSIGNAL */
    // 32-bit address arithmetic, low bits used (fields are sized by snncc);
    // the tap's kernel index is not needed by a gate.
    wire [31:0] src_q32 = {{(32 - SRC_PX_BITS){1'b0}}, in_px} * G + {{(32 - G_BITS){1'b0}}, in_g};
    wire [31:0] op_q32 = {{(32 - PX_BITS){1'b0}}, tap_px} * G + {{(32 - G_BITS){1'b0}}, e_g};
    wire [TAPW_BITS-1:0] tap_unused = tap_q;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [Q_BITS-1:0] op_q = op_q32[Q_BITS-1:0];
    assign src_c_addr = src_q32[SRC_Q_BITS-1:0];
    localparam [31:0] NG32 = N_GROUPS;
    localparam [Q_BITS-1:0] Q_LAST = NG32[Q_BITS-1:0] - 1'b1;

    always @(*) begin
        state_n = state;
        k_n = k;
        e_g_n = e_g;
        e_mask_n = e_mask;
        e_counts_n = e_counts;
        t_j_n = t_j;
        t_end_n = t_end;
        q_n = q;
        done_n = done;
        if (init) begin
            state_n = INIT;
            done_n = 1'b0;
            q_n = 0;
        end else if (start) begin
            state_n = ENTRY;
            done_n = 1'b0;
            k_n = 0;
        end else begin
            case (state)
                INIT: begin
                    if (q == Q_LAST) begin
                        state_n = IDLE;
                        done_n = 1'b1;
                    end
                    q_n = q + 1'b1;
                end
                ENTRY: begin
                    if (k == src_count) begin
                        state_n = PREP;
                    end else begin
                        e_g_n = in_g;
                        e_mask_n = in_mask;
                        k_n = k + 1'b1;
                        state_n = OFFS;
                    end
                end
                OFFS: begin
                    e_counts_n = src_c_data;
                    if (offs_count == 0) begin
                        state_n = ENTRY;
                    end else begin
                        state_n = TAP;
                        t_j_n = offs_start;
                        t_end_n = offs_start + {{(TAP_BITS - TAP_COUNT_BITS){1'b0}}, offs_count};
                    end
                end
                TAP: begin
                    if (t_j + 1'b1 != t_end) t_j_n = t_j + 1'b1;
                    else state_n = ENTRY;
                end
                PREP: state_n = FINISH;
                FINISH: begin
                    state_n = IDLE;
                    done_n = 1'b1;
                end
                default: ;
            endcase
        end
    end
    assign src_index = k_n;
    // A tap index counts to N_TAPS (the end); the address is its low bits.
    localparam integer TAP_ADDR_BITS = (N_TAPS > 1) ? $clog2(N_TAPS) : 1;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [TAP_BITS-1:0] tap_index = t_j_n;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [TAP_ADDR_BITS-1:0] tap_addr = tap_index[TAP_ADDR_BITS-1:0];

    // The op stage: compare and count, one cycle after the tap's issue.
    reg op_valid;
    reg [Q_BITS-1:0] op_addr;
    reg [PX_BITS-1:0] op_px;
    reg [G_BITS-1:0] op_g;
    reg [LANES-1:0] op_mask;
    wire [LANES-1:0] fire;
    wire [LANES*COUNT_BITS-1:0] g_new;
    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : lanes
            wire [COUNT_BITS-1:0] src_n = e_counts[l*COUNT_BITS +: COUNT_BITS];
            wire [COUNT_BITS-1:0] own_n = g_q[l*COUNT_BITS +: COUNT_BITS];
            assign fire[l] = op_mask[l] && src_n > own_n;
            assign g_new[l*COUNT_BITS +: COUNT_BITS] = own_n + {{(COUNT_BITS - 1){1'b0}}, fire[l]};
        end
    endgenerate

    wire we = op_valid || state == INIT;
    wire [Q_BITS-1:0] waddr = op_valid ? op_addr : q;
    wire [LANES*COUNT_BITS-1:0] wdata = op_valid ? g_new : {(LANES*COUNT_BITS){1'b0}};

    initial begin
        state = IDLE;
        done = 1'b0;
        push = 1'b0;
        op_valid = 1'b0;
    end

    // An idle gate changes no state (a clock enable in hardware; it spares
    // event-driven simulators the idle engines).
    wire awake = init || start || state != IDLE;
    always @(posedge clk) begin
        if (awake) begin
            state <= state_n;
            k <= k_n;
            e_g <= e_g_n;
            e_mask <= e_mask_n;
            e_counts <= e_counts_n;
            t_j <= t_j_n;
            t_end <= t_end_n;
            q <= q_n;
            done <= done_n;

            offs_q <= offs[in_px];
            tap_q <= taps[tap_addr];
            g_q <= counts[op_q];

            op_valid <= (state == TAP);
            op_addr <= op_q;
            op_px <= tap_px;
            op_g <= e_g;
            op_mask <= e_mask;
            if (we) counts[waddr] <= wdata;

            push <= 1'b0;
            if (op_valid && fire != 0) begin
                push <= 1'b1;
                push_entry <= {op_px, op_g, fire};
            end
        end
    end
endmodule
