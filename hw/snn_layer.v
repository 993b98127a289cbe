// One layer engine: a layer of IF neurons (or the readout, FIRES = 0) with
// one synapse group, time-multiplexed over LANES parallel neuron lanes
// (docs/hardware.md; arithmetic of docs/fixed-point.md §4.2-4.4).
//
// Neurons are stored in *groups*: group q = px * G + g holds the channels
// g * LANES + l of output pixel px in lane l (lanes past the last channel are
// padding: they never spike). Every memory word is one group (LANES fields,
// lane 0 in the low bits), so one cycle reads, updates and writes LANES
// neurons. Spikes travel between layers as entries {px, g, mask}: the
// pixel, the group and which of its lanes fired.
//
// Synapses are walked through a routing table (the fan-out of a source
// pixel, computed by snncc from the same tables the simulator uses):
// OFFS_INIT holds {start, count} per source pixel, TAP_INIT the taps
// {kk, out_px}. For each source spike and tap:
//   full (DEPTHWISE = 0; conv, dense): for every output group gq,
//     current[out_px * G + gq] += weights[(kk * SRC_C + ci) * G + gq]
//     (ci = the spike's channel: conv kk = kernel position, dense kk = source
//     pixel);
//   depthwise (pooling): current[out_px * G + g] += weights[kk * G + g] in the
//     lanes of the entry's mask (source and output share channels; kk = the
//     window size index).
// With ANALOG = 1 the source is the input RAM (one element per cycle,
// x_index -> x_value), the terms are (w * x) << P_SHIFT, computed once per
// image on `load`, and each `start` only runs the update.
//
// Phases and cycles: init (on `init`) N_GROUPS; per step (on `start`)
// scatter = 2 per source entry + one per (spike, tap, output group) + 2,
// update N_GROUPS + 1. The update writes current = bias for the next step
// (the bias is constant), so there is no bias phase.
//
// Every memory has one registered read port whose address is the *next*
// state's (so its data lines up with the state) and is mapped to block RAM.
// `done` is high from the end of a phase until the next `init`, `load` or
// `start`; a step's spikes are all pushed before `done` rises.
`timescale 1ns/1ps
module snn_layer #(
    parameter integer LANES = 1,
    parameter integer DEPTHWISE = 0,
    parameter integer ANALOG = 0,
    parameter integer FIRES = 1,
    parameter integer COUNTS = 0,          // keep spike counts (max gate, count readout)
    parameter integer SRC_C = 1,           // channels of the source
    parameter integer SRC_PX = 1,          // pixels of the source
    parameter integer G = 1,               // groups per output pixel
    parameter integer N_GROUPS = 1,        // output pixels x G
    parameter [LANES-1:0] LAST_MASK = 1,   // lanes of group G - 1 that are channels
    parameter integer IN_LEN = 1,          // analog: input elements
    parameter integer SRC_PX_BITS = 1,
    parameter integer SRC_G_BITS = 1,      // entry group bits (analog: channel bits)
    parameter integer LIST_BITS = 1,       // source list index/count bits (analog: input index)
    parameter integer PX_BITS = 1,         // output pixel bits
    parameter integer G_BITS = 1,
    parameter integer Q_BITS = 1,
    parameter integer N_TAPS = 1,
    parameter integer TAP_BITS = 1,        // holds 0..N_TAPS
    parameter integer TAP_COUNT_BITS = 1,
    parameter integer KK_BITS = 1,
    parameter integer W_DEPTH = 1,
    parameter integer WA_BITS = 1,
    parameter integer W_BITS = 8,
    parameter integer W_SHIFT = 0,
    parameter integer B_BITS = 8,
    parameter integer B_SHIFT = 0,
    parameter integer ACC_BITS = 16,
    parameter integer MEMBRANE_BITS = 16,
    parameter integer THETA_BITS = 16,
    parameter [THETA_BITS-1:0] THETA = 1,
    parameter [MEMBRANE_BITS-1:0] V0 = 0,
    parameter integer SATURATE = 1,
    parameter integer X_BITS = 8,
    parameter integer P_SHIFT = 0,
    parameter integer COUNT_BITS = 1,      // spike count bits
    parameter W_INIT = "",
    parameter B_INIT = "",
    parameter TAP_INIT = "",
    parameter OFFS_INIT = ""
) (
    input  wire clk,
    input  wire init,
    input  wire start,
    input  wire load,
    output reg  done,
    // the source's spike list (entries {px, g, mask}), registered read
    input  wire [LIST_BITS-1:0] src_count,
    output wire [LIST_BITS-1:0] src_index,
    input  wire [SRC_PX_BITS+SRC_G_BITS+LANES-1:0] src_entry,
    // the analog input (ANALOG = 1), registered read
    input  wire signed [X_BITS-1:0] x_value,
    // this layer's spikes
    output reg  push,
    output reg  [PX_BITS+G_BITS+LANES-1:0] push_entry,
    // membrane and spike counts of a group, read while `done` (one cycle)
    input  wire [Q_BITS-1:0] v_read_addr,
    output wire [LANES*MEMBRANE_BITS-1:0] v_read_data,
    input  wire [Q_BITS-1:0] c_read_addr,
    output wire [LANES*COUNT_BITS-1:0] c_read_data
);
    localparam integer E_BITS = SRC_PX_BITS + SRC_G_BITS + LANES;
    localparam integer OFFS_BITS = TAP_BITS + TAP_COUNT_BITS;
    localparam integer TAPW_BITS = KK_BITS + PX_BITS;

    reg [LANES*W_BITS-1:0] weights [0:W_DEPTH-1];
    reg [LANES*B_BITS-1:0] biases [0:G-1];
    reg [TAPW_BITS-1:0] taps [0:N_TAPS-1];
    reg [OFFS_BITS-1:0] offs [0:SRC_PX-1];
    reg [LANES*ACC_BITS-1:0] current [0:N_GROUPS-1];
    reg [LANES*MEMBRANE_BITS-1:0] membrane [0:N_GROUPS-1];
    reg [LANES*COUNT_BITS-1:0] counts [0:N_GROUPS-1];

    initial begin
        if (W_INIT != "") $readmemh(W_INIT, weights);
        if (B_INIT != "") $readmemh(B_INIT, biases);
        if (TAP_INIT != "") $readmemh(TAP_INIT, taps);
        if (OFFS_INIT != "") $readmemh(OFFS_INIT, offs);
    end

    localparam [3:0] IDLE = 4'd0, INIT = 4'd1, ENTRY = 4'd2, OFFS = 4'd3, TAP = 4'd4,
                     PREP = 4'd5, UPDATE = 4'd6, FINISH = 4'd7;
    reg [3:0] state, state_n;

    // Walker registers (and their next values).
    reg loading, loading_n;              // an analog layer's load
    reg [LIST_BITS-1:0] k, k_n;          // source entry (analog: input element)
    reg [SRC_PX_BITS-1:0] ax_px, ax_px_n;  // analog element's pixel and channel
    reg [SRC_G_BITS-1:0] ax_c, ax_c_n;
    reg [SRC_PX_BITS-1:0] e_px, e_px_n;  // the entry being scattered
    reg [SRC_G_BITS-1:0] e_g, e_g_n;
    reg [LANES-1:0] e_mask, e_mask_n;    // its spikes not yet scattered (full mode)
    reg signed [X_BITS-1:0] e_x, e_x_n;  // analog value
    reg [TAP_BITS-1:0] t_j, t_j_n, t_start, t_start_n, t_end, t_end_n;
    reg [G_BITS-1:0] gq, gq_n;           // output group within a tap (full mode)
    reg [Q_BITS-1:0] q, q_n;             // group counter (init, update)
    reg [PX_BITS-1:0] upx, upx_n;
    reg [G_BITS-1:0] ug, ug_n;
    reg done_n;

    // Registered reads.
    reg [OFFS_BITS-1:0] offs_q;
    reg [TAPW_BITS-1:0] tap_q;
    reg [LANES*W_BITS-1:0] w_q;
    reg [LANES*B_BITS-1:0] b_q;
    reg [LANES*ACC_BITS-1:0] i_q;
    reg [LANES*MEMBRANE_BITS-1:0] v_q;
    reg [LANES*COUNT_BITS-1:0] c_q;

    // The entry arriving from the source list.
    wire [SRC_PX_BITS-1:0] in_px = src_entry[E_BITS-1:SRC_G_BITS+LANES];
    wire [SRC_G_BITS-1:0] in_g = src_entry[SRC_G_BITS+LANES-1:LANES];
    wire [LANES-1:0] in_mask = src_entry[LANES-1:0];
    wire [TAP_BITS-1:0] offs_start = offs_q[OFFS_BITS-1:TAP_COUNT_BITS];
    wire [TAP_COUNT_BITS-1:0] offs_count = offs_q[TAP_COUNT_BITS-1:0];
    wire [KK_BITS-1:0] tap_kk = tap_q[TAPW_BITS-1:PX_BITS];
    wire [PX_BITS-1:0] tap_px = tap_q[PX_BITS-1:0];

    // Lowest set bit of the remaining mask: the spike being scattered.
    function [31:0] lowest;
        input [LANES-1:0] m;
        integer b;
        begin
            lowest = 0;
            for (b = LANES - 1; b >= 0; b = b - 1)
                if (m[b]) lowest = b;
        end
    endfunction
    /* verilator lint_off UNUSEDSIGNAL */
    // Address arithmetic is 32 bits wide; the addresses are the low bits
    // (snncc sizes every field to hold its largest value).
    wire [31:0] lane = lowest(e_mask);
    wire [31:0] ci = (ANALOG != 0) ? {{(32 - SRC_G_BITS){1'b0}}, e_g}
                                  : {{(32 - SRC_G_BITS){1'b0}}, e_g} * LANES + lane[31:0];
    wire [31:0] g_eff = (DEPTHWISE != 0) ? {{(32 - SRC_G_BITS){1'b0}}, e_g}
                                         : {{(32 - G_BITS){1'b0}}, gq};
    wire [31:0] op_q32 = {{(32 - PX_BITS){1'b0}}, tap_px} * G + g_eff;
    wire [31:0] op_w32 = (DEPTHWISE != 0) ? {{(32 - KK_BITS){1'b0}}, tap_kk} * G + g_eff
                       : ({{(32 - KK_BITS){1'b0}}, tap_kk} * SRC_C + ci) * G + g_eff;
    wire [31:0] ax_px32 = {{(32 - SRC_PX_BITS){1'b0}}, ax_px};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [Q_BITS-1:0] op_q = op_q32[Q_BITS-1:0];
    wire [WA_BITS-1:0] op_w = op_w32[WA_BITS-1:0];
    localparam [31:0] G32 = G;
    localparam [G_BITS-1:0] G_LAST = G32[G_BITS-1:0] - 1'b1;
    localparam [31:0] NG32 = N_GROUPS;
    localparam [Q_BITS-1:0] Q_LAST = NG32[Q_BITS-1:0] - 1'b1;
    localparam [31:0] IN32 = IN_LEN;
    localparam [31:0] SRC_C32 = SRC_C;
    localparam [SRC_G_BITS-1:0] C_LAST = SRC_C32[SRC_G_BITS-1:0] - 1'b1;
    wire [LANES-1:0] gq_valid = (gq == G_LAST) ? LAST_MASK : {LANES{1'b1}};
    wire [LANES-1:0] op_mask = (DEPTHWISE != 0) ? e_mask : gq_valid;
    wire [LANES-1:0] lane_bit = {{(LANES - 1){1'b0}}, 1'b1} << lane[31:0];

    // ---- the walker: next state and next read addresses ----
    always @(*) begin
        state_n = state;
        loading_n = loading;
        k_n = k;
        ax_px_n = ax_px;
        ax_c_n = ax_c;
        e_px_n = e_px;
        e_g_n = e_g;
        e_mask_n = e_mask;
        e_x_n = e_x;
        t_j_n = t_j;
        t_start_n = t_start;
        t_end_n = t_end;
        gq_n = gq;
        q_n = q;
        upx_n = upx;
        ug_n = ug;
        done_n = done;
        if (init) begin
            state_n = INIT;
            done_n = 1'b0;
            q_n = 0;
            upx_n = 0;
            ug_n = 0;
        end else if (load && ANALOG != 0) begin
            state_n = ENTRY;
            loading_n = 1'b1;
            done_n = 1'b0;
            k_n = 0;
            ax_px_n = 0;
            ax_c_n = 0;
        end else if (start) begin
            // An analog layer's current is constant: only the update.
            state_n = (ANALOG != 0) ? PREP : ENTRY;
            loading_n = 1'b0;
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
                    if (ug == G_LAST) begin
                        ug_n = 0;
                        upx_n = upx + 1'b1;
                    end else begin
                        ug_n = ug + 1'b1;
                    end
                end
                ENTRY: begin
                    // The entry (or input element) k is on the read port.
                    if (ANALOG != 0) begin
                        if (k == IN32[LIST_BITS-1:0]) begin
                            state_n = PREP;
                        end else begin
                            e_px_n = ax_px;
                            e_g_n = ax_c;
                            e_x_n = x_value;
                            // Zero inputs add nothing: skip them.
                            if (x_value != 0) state_n = OFFS;
                            k_n = k + 1'b1;
                            if (ax_c == C_LAST) begin
                                ax_c_n = 0;
                                ax_px_n = ax_px + 1'b1;
                            end else begin
                                ax_c_n = ax_c + 1'b1;
                            end
                        end
                    end else if (k == src_count) begin
                        state_n = PREP;
                    end else begin
                        e_px_n = in_px;
                        e_g_n = in_g;
                        e_mask_n = in_mask;
                        k_n = k + 1'b1;
                        state_n = OFFS;
                    end
                end
                OFFS: begin
                    if (offs_count == 0) begin
                        state_n = ENTRY;
                    end else begin
                        state_n = TAP;
                        t_j_n = offs_start;
                        t_start_n = offs_start;
                        t_end_n = offs_start + {{(TAP_BITS - TAP_COUNT_BITS){1'b0}}, offs_count};
                        gq_n = 0;
                    end
                end
                TAP: begin
                    // One operation is issued this cycle (see the op stage).
                    if (DEPTHWISE == 0 && gq != G_LAST) begin
                        gq_n = gq + 1'b1;
                    end else begin
                        gq_n = 0;
                        if (t_j + 1'b1 != t_end) begin
                            t_j_n = t_j + 1'b1;
                        end else if (DEPTHWISE == 0 && ANALOG == 0 && (e_mask & ~lane_bit) != 0) begin
                            // The entry's next spike: same pixel, same taps.
                            e_mask_n = e_mask & ~lane_bit;
                            t_j_n = t_start;
                        end else begin
                            state_n = ENTRY;
                        end
                    end
                end
                PREP: begin
                    // The scatter's last write has landed; reads for group 0.
                    state_n = loading ? FINISH : UPDATE;
                    q_n = 0;
                    upx_n = 0;
                    ug_n = 0;
                end
                UPDATE: begin
                    if (q == Q_LAST) begin
                        state_n = FINISH;
                    end else begin
                        q_n = q + 1'b1;
                        if (ug == G_LAST) begin
                            ug_n = 0;
                            upx_n = upx + 1'b1;
                        end else begin
                            ug_n = ug + 1'b1;
                        end
                    end
                end
                FINISH: begin
                    state_n = IDLE;
                    done_n = 1'b1;
                end
                default: ;
            endcase
        end
    end

    assign src_index = k_n;
    wire [SRC_PX_BITS-1:0] offs_addr = (ANALOG != 0) ? ax_px : in_px;
    // A tap index counts to N_TAPS (the end); the address is its low bits.
    localparam integer TAP_ADDR_BITS = (N_TAPS > 1) ? $clog2(N_TAPS) : 1;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [TAP_BITS-1:0] tap_index = t_j_n;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [TAP_ADDR_BITS-1:0] tap_addr = tap_index[TAP_ADDR_BITS-1:0];
    wire in_update = (state_n == UPDATE);
    wire [Q_BITS-1:0] cur_addr = (state == TAP) ? op_q : q_n;
    wire [Q_BITS-1:0] mem_v_addr = in_update ? q_n : v_read_addr;
    wire [Q_BITS-1:0] mem_c_addr = in_update ? q_n : c_read_addr;
    assign v_read_data = v_q;
    assign c_read_data = c_q;

    // ---- the op stage: current[op] += term, one cycle after the issue ----
    reg op_valid;
    reg [Q_BITS-1:0] op_addr;
    reg [LANES-1:0] op_lanes;
    // The analog value of the op (read by analog engines only).
    /* verilator lint_off UNUSEDSIGNAL */
    reg signed [X_BITS-1:0] op_x;
    /* verilator lint_on UNUSEDSIGNAL */
    // The previous op's write, forwarded when the next op reads the same
    // group in the cycle it is written (the read returns the old word).
    reg fwd_valid;
    reg [Q_BITS-1:0] fwd_addr;
    reg [LANES*ACC_BITS-1:0] fwd_data;
    wire [LANES*ACC_BITS-1:0] op_base = (fwd_valid && fwd_addr == op_addr) ? fwd_data : i_q;
    wire [LANES*ACC_BITS-1:0] op_sum;

    // ---- the update stage: all lanes of group q ----
    wire [LANES*MEMBRANE_BITS-1:0] v_new;
    wire [LANES*ACC_BITS-1:0] b_word;
    wire [LANES*COUNT_BITS-1:0] c_new;
    wire [LANES-1:0] fired_raw;
    wire [LANES-1:0] ug_valid = (ug == G_LAST) ? LAST_MASK : {LANES{1'b1}};
    wire [LANES-1:0] fired = fired_raw & ug_valid;

    wire updating = (state == UPDATE);
    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : lanes
            wire signed [W_BITS-1:0] w = w_q[l*W_BITS +: W_BITS];
            wire signed [ACC_BITS-1:0] term;
            if (ANALOG != 0) begin : mac
                wire signed [ACC_BITS-1:0] product = $signed(w) * $signed(op_x);
                assign term = product <<< P_SHIFT;
            end else begin : add
                assign term = $signed({{(ACC_BITS - W_BITS - W_SHIFT){w[W_BITS-1]}}, w, {W_SHIFT{1'b0}}});
            end
            wire signed [ACC_BITS-1:0] base = op_base[l*ACC_BITS +: ACC_BITS];
            assign op_sum[l*ACC_BITS +: ACC_BITS] = op_lanes[l] ? base + term : base;

            wire signed [B_BITS-1:0] b = b_q[l*B_BITS +: B_BITS];
            assign b_word[l*ACC_BITS +: ACC_BITS] =
                $signed({{(ACC_BITS - B_BITS - B_SHIFT){b[B_BITS-1]}}, b, {B_SHIFT{1'b0}}});
            // The neuron sees its inputs only in the update phase, so the
            // scatter's traffic on i_q does not ripple through it (simulation
            // speed; in hardware an AND per bit).
            wire signed [MEMBRANE_BITS-1:0] v_in = updating ? v_q[l*MEMBRANE_BITS +: MEMBRANE_BITS] : {MEMBRANE_BITS{1'b0}};
            wire signed [ACC_BITS-1:0] i_in = updating ? i_q[l*ACC_BITS +: ACC_BITS] : {ACC_BITS{1'b0}};
            /* verilator lint_off PINCONNECTEMPTY */
            snn_if_neuron #(
                .MEMBRANE_BITS(MEMBRANE_BITS), .ACC_BITS(ACC_BITS), .THETA_BITS(THETA_BITS),
                .SATURATE(SATURATE), .FIRES(FIRES)
            ) neuron (
                .v_in(v_in), .current(i_in),
                .theta(THETA), .v_out(v_new[l*MEMBRANE_BITS +: MEMBRANE_BITS]),
                .spike(fired_raw[l]), .overflow()
            );
            /* verilator lint_on PINCONNECTEMPTY */
            assign c_new[l*COUNT_BITS +: COUNT_BITS] =
                c_q[l*COUNT_BITS +: COUNT_BITS] + {{(COUNT_BITS - 1){1'b0}}, fired[l]};
        end
    endgenerate

    wire cur_we = op_valid || state == INIT || (state == UPDATE && ANALOG == 0);
    wire [Q_BITS-1:0] cur_waddr = op_valid ? op_addr : q;
    wire [LANES*ACC_BITS-1:0] cur_wdata = op_valid ? op_sum : b_word;
    wire v_we = state == INIT || state == UPDATE;
    wire c_we = COUNTS != 0 && (state == INIT || state == UPDATE);

    initial begin
        state = IDLE;
        done = 1'b0;
        push = 1'b0;
        op_valid = 1'b0;
        fwd_valid = 1'b0;
    end

    // An idle engine only serves its read ports: skipping the rest changes
    // no state (every next value equals the current one; in hardware a
    // clock enable) and spares event-driven simulators the idle engines.
    wire awake = init || start || load || state != IDLE;
    always @(posedge clk) begin
        v_q <= membrane[mem_v_addr];
        c_q <= counts[mem_c_addr];
        if (awake) begin
            state <= state_n;
            loading <= loading_n;
            k <= k_n;
            ax_px <= ax_px_n;
            ax_c <= ax_c_n;
            e_px <= e_px_n;
            e_g <= e_g_n;
            e_mask <= e_mask_n;
            e_x <= e_x_n;
            t_j <= t_j_n;
            t_start <= t_start_n;
            t_end <= t_end_n;
            gq <= gq_n;
            q <= q_n;
            upx <= upx_n;
            ug <= ug_n;
            done <= done_n;

            // Reads at the next state's addresses.
            offs_q <= offs[offs_addr];
            tap_q <= taps[tap_addr];
            w_q <= weights[op_w];
            b_q <= biases[ug_n];
            i_q <= current[cur_addr];

            // The op issued this cycle (state TAP), applied next cycle.
            op_valid <= (state == TAP);
            op_addr <= op_q;
            op_lanes <= op_mask;
            op_x <= e_x;
            fwd_valid <= op_valid;
            fwd_addr <= op_addr;
            fwd_data <= op_sum;

            // One write port per memory (block RAM): the scatter's op stage
            // and the init/update phases never overlap.
            if (cur_we) current[cur_waddr] <= cur_wdata;
            if (v_we) membrane[q] <= (state == INIT) ? {LANES{V0}} : v_new;
            if (c_we) counts[q] <= (state == INIT) ? {(LANES*COUNT_BITS){1'b0}} : c_new;

            push <= 1'b0;
            if (state == UPDATE && FIRES != 0 && fired != 0) begin
                push <= 1'b1;
                push_entry <= {upx, ug, fired};
            end
        end
    end
endmodule
