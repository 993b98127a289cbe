// One layer engine, pipelined (docs/hardware.md): a layer of IF neurons (or
// the readout, FIRES = 0) with one synapse group, or a spiking max-pooling
// gate (MODE = 2), time-multiplexed over LANES parallel neuron lanes, with
// SLOTS synapse taps per cycle. Arithmetic of docs/fixed-point.md §4.2-4.5.
//
// Neurons are stored in groups: group q = px * G + g holds the channels
// g * LANES + l of output pixel px in lane l (lanes past the last channel are
// padding and never spike). Spikes travel between engines as entries
// {px, g, mask}.
//
// Currents live in SLOTS banks: pixel px is in bank px % SLOTS at local
// group (px / SLOTS) * G + g, so the taps of one tap word, which snncc packs
// so that each targets a different bank, are added in the same cycle. A tap
// word holds per slot {valid, px, wbase, qbase}, qbase relative to the source
// pixel's base group; for each source spike and each of its tap words
// (OFFS_INIT: {first word, words, base} per source pixel):
//   full (MODE 0; conv, dense, analog input): for gq in 0..G-1, in every
//     valid slot: current[qbase + gq] += weights[wbase + gq * SRC_C + ci]
//     (ci = the spike's channel; the weights of one (kk, gq) are consecutive
//     per input channel, so no multiplication is needed);
//   depthwise (MODE 1; pooling): current[qbase + g] += weights[wbase + g] in
//     the entry's lanes (source and output share channels);
//   gate (MODE 2): count[qbase + g] += (src count > count) in the entry's
//     lanes, and the lanes that grew fire. The gate keeps its source's
//     spike counts itself (one word per source group, at {px, g}): each
//     entry adds its mask to them as its routing offsets are read, so a
//     gate needs nothing of its source but the entries.
// With GROUPS = 2 (a residual add) the engine has two synapse groups whose
// sources' lists it walks in turn, group 0's first, within one step; snncc
// presents both lists' entries as those of one virtual source (the group
// in the pixel's top bit, docs/hardware.md "Residual adds"), so the rest of
// the engine is unchanged.
// With ANALOG = 1 the source is the input stream (s_valid/s_ready/s_data,
// one element per transfer, zeros skipped) and the terms are (w * x) <<
// P_SHIFT. With REPLAY = 0 they are added once per image on `load`, the
// banks keep that current for the whole image and each `start` only
// updates. With REPLAY = 1 (docs/hardware.md, "Replaying the input")
// `load` keeps the non-zero elements {px, c, x} in an input buffer and
// every `start` replays it as the source's list: the current is the same
// integer at every step (as the bit-accurate simulator's, computed once),
// so the engine is an ordinary layer whose banks are cleared (or hold
// V + sum, MERGED) like any other's: one state word per neuron instead of
// a current and a membrane, for the scatter at every step.
//
// Commands (one-cycle pulses while idle; `done` rises when finished):
//   init  - after reset, and before each image where the state carries
//           over: currents = 0 (gate: its counts and its source's = 0);
//   load  - analog: currents = 0, then the input's scatter (REPLAY: the
//           input kept, its non-zero elements);
//   start - one time step: the scatter of the source's spikes, then the
//           update of every group (V = fit(V + I), I = bias + the current
//           bank, fire; the bank = 0 for the next step). `first` marks an
//           image's first step: membranes start at V0 and counts at 0.
// The banks hold the synaptic sum without the bias (snncc sizes ACC_BITS
// for it with and without, docs/fixed-point.md §4.2): the bias is added
// once per IF unit in the update rather than written back through a mux in
// front of every lane and slot of the banks.
// With MERGED = 1 (docs/hardware.md, "One state word per neuron") there is
// no membrane memory: a bank lane holds V + sum in ACC_BITS (one bit more
// than the wider of the membrane and the sum, so it is exact), the update
// reads it as its current with V = 0 (V0 at the first step) and writes the
// new V back instead of 0, and `init` (issued before every image) clears
// the banks. One word per neuron instead of two, for a write-back
// multiplexer per lane and slot.
//
// No cycle holds a block-RAM read together with arithmetic on its data: the
// scatter is a fixed pipeline (tap word, registered twice -> addresses -> weight read ->
// current read -> term -> add -> write) with forwarding of the three
// previous writes of a bank, and the update is read -> sum -> fit/fire ->
// write. The walker that feeds it (source entry -> routing offsets ->
// spikes -> tap words) is decoupled by small FIFOs whose levels are
// registers, so addresses come from registers.
`default_nettype none
`timescale 1ns/1ps
module snn_layer #(
    parameter integer LANES = 1,
    parameter integer SRC_LANES = 1,
    parameter integer SLOTS = 1,
    parameter integer UPD_SER = 1,         // cycles per group of the update (LANES / UPD_SER IF units)
    parameter integer MODE = 0,            // 0 full, 1 depthwise, 2 max gate
    parameter integer ANALOG = 0,
    parameter integer REPLAY = 0,          // analog: scatter the kept input every step
    parameter integer FIRES = 1,
    parameter integer COUNTS = 0,          // keep spike counts (count readout)
    parameter integer SRC_C = 1,           // channels of the source
    parameter integer G = 1,               // groups per output pixel
    parameter integer N_GROUPS = 1,        // output pixels x G
    parameter [LANES-1:0] LAST_MASK = 1,   // lanes of group G - 1 that are channels
    parameter integer IN_LEN = 1,          // analog: input elements
    parameter integer SRC_PX = 1,          // source pixels (routing offsets)
    parameter integer SRC_PX_BITS = 1,
    parameter integer SRC_G_BITS = 1,      // entry group bits (analog: channel bits)
    parameter integer LIST_BITS = 1,       // source list index bits (analog: input count bits)
    parameter integer GROUPS = 1,          // synapse groups: source lists walked in turn (2: residual)
    parameter integer PX_BITS = 1,         // output pixel bits
    parameter integer G_BITS = 1,
    parameter integer Q_BITS = 1,          // group address bits
    parameter integer LQ_DEPTH = 1,        // groups per current bank
    parameter integer LQ_BITS = 1,
    parameter integer N_TAPW = 1,          // tap words
    parameter integer TAPW_BITS = 1,       // tap word address bits
    parameter integer TAP_COUNT_BITS = 1,  // holds the most tap words of a source pixel
    parameter integer WB_BITS = 1,         // a slot's weight base bits
    parameter integer PXS_BITS = 1,        // a slot's output pixel bits (gate; 1 otherwise)
    parameter integer W_DEPTH = 1,
    parameter integer WA_BITS = 1,
    parameter integer W_BITS = 8,
    parameter integer W_SHIFT = 0,
    parameter integer B_BITS = 8,
    parameter integer B_SHIFT = 0,
    parameter integer ACC_BITS = 16,       // a lane of the current (gate: its count)
    parameter integer MEMBRANE_BITS = 16,
    parameter integer THETA_BITS = 16,
    parameter [THETA_BITS-1:0] THETA = 1,
    parameter [MEMBRANE_BITS-1:0] V0 = 0,
    parameter integer SATURATE = 1,
    parameter integer FAST_BANK = 0,       // banks in distributed RAM: add and write in one stage
    parameter integer MERGED = 0,          // the membrane lives in the banks (ACC_BITS: V + sum)
    parameter integer X_BITS = 8,
    parameter integer P_SHIFT = 0,
    parameter integer COUNT_BITS = 1,      // spike count bits
    parameter integer BURST = 1,           // spikes a neuron may fire a step (burst spikes)
    parameter integer BURST_AFTER = 0,     // steps at one spike a step before bursts begin
    parameter W_INIT = "",
    // Weights off chip (docs/hardware.md, "Weights off chip"): 0 keeps them
    // in block RAM (W_INIT); L >= 1 reads them through w_addr/w_en/w_data
    // from a memory that returns a word L cycles after its address (which
    // leaves a register) and the engine registers it again. Only a full
    // engine reading spikes (MODE 0, ANALOG 0) with one slot.
    parameter integer W_EXT = 0,
    parameter B_INIT = "",
    // Per-channel initial potentials: G words of LANES x MEMBRANE_BITS
    // (lane l of word g: channel g * LANES + l), or "" for V0 everywhere.
    parameter V0_INIT = "",
    parameter integer B_DEPTH = G,          // G (per channel) or N_GROUPS (per pixel too)
    parameter TAP_INIT = "",
    parameter OFFS_INIT = ""
) (
    input  wire clk,
    input  wire rst,
    input  wire init_in,
    input  wire load_in,
    input  wire start_in,
    input  wire first_in,
    output reg  done,
    // the sources' spike lists (registered reads): GROUPS lists side by
    // side, group 0's in the low bits, all read at src_index (an
    // analog engine that replays its input reads its own buffer)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [GROUPS*LIST_BITS-1:0] src_count,
    output wire [LIST_BITS-1:0] src_index,
    input  wire [GROUPS*SRC_E_BITS-1:0] src_entry,
    /* verilator lint_on UNUSEDSIGNAL */
    // the analog input stream (ANALOG = 1)
    input  wire s_valid,
    output wire s_ready,
    input  wire [X_BITS-1:0] s_data,
    // this layer's spikes
    output reg  push,
    output reg  [E_BITS-1:0] push_entry,
    // membrane and spike counts of a group, read while idle (one cycle)
    input  wire [Q_BITS-1:0] v_read_addr,
    output wire [LANES*MEMBRANE_BITS-1:0] v_read_data,
    input  wire [Q_BITS-1:0] c_read_addr,
    output wire [LANES*COUNT_BITS-1:0] c_read_data,
    // the off-chip weight memory's read port (W_EXT >= 1; otherwise
    // unused): the address and its enable are registers
    output wire [WA_BITS-1:0] w_addr,
    output wire w_en,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [LANES*W_BITS-1:0] w_data
    /* verilator lint_on UNUSEDSIGNAL */
);
    localparam integer GATE = (MODE == 2) ? 1 : 0;
    // Commands are registered on the way in: the sequencer sits in one
    // place and a large engine's control in another (VGG on the 45F: 9.2
    // ns of route from the top's init register through the command decode
    // to relu1's step flag, 97.7 MHz). The sequencer waits two cycles
    // after issuing one before it reads `done` (templates/top.v).
    reg init, load, start, first;
    always @(posedge clk) begin
        init <= !rst && init_in;
        load <= !rst && load_in;
        start <= !rst && start_in;
        first <= first_in;
    end
    // The analog input's two schemes: its current kept for the image, or
    // the input kept and replayed every step.
    localparam integer KEEP = (ANALOG != 0 && REPLAY == 0) ? 1 : 0;
    localparam integer RPL = (ANALOG != 0 && REPLAY != 0) ? 1 : 0;
    localparam integer FAST = (FAST_BANK != 0 && GATE == 0) ? 1 : 0;
    localparam integer FULL = (MODE == 0) ? 1 : 0;
    localparam integer SRC_E_BITS = SRC_PX_BITS + SRC_G_BITS + SRC_LANES;
    localparam integer E_BITS = PX_BITS + G_BITS + LANES;
    localparam integer CNT_W = LANES * COUNT_BITS;   // payload counts (gate)
    // Routing offsets per source pixel: {first tap word, words, base group}.
    localparam integer OFFS_BITS = TAPW_BITS + TAP_COUNT_BITS + LQ_BITS;
    localparam integer SLOT_BITS = 1 + PXS_BITS + WB_BITS + LQ_BITS;
    localparam integer GQ_N = (FULL != 0) ? G : 1;   // ops per tap word
    localparam integer GQ_BITS = G_BITS;
    localparam integer J_BITS = (UPD_SER > 1) ? $clog2(UPD_SER) : 1;
    localparam integer UB_BITS = (SLOTS > 1) ? $clog2(SLOTS) : 1;
    localparam [31:0] SLOTS32 = SLOTS;
    localparam [UB_BITS-1:0] UB_LAST = SLOTS32[UB_BITS-1:0] - 1'b1;
    localparam integer LN_BITS = (SRC_LANES > 1) ? $clog2(SRC_LANES) : 1;
    // An entry's first spike, found before it is queued for the expander:
    // {lowest lane (one-hot), its index, whether it is the only one}.
    localparam integer FS_BITS = SRC_LANES + LN_BITS + 1;
    localparam [31:0] SER32 = UPD_SER;
    localparam [J_BITS-1:0] SER_LAST = SER32[J_BITS-1:0] - 1'b1;
    // Items between the walker's stages: {px, g, mask, x, counts}.
    localparam integer IT_BITS = SRC_PX_BITS + SRC_G_BITS + SRC_LANES + X_BITS + CNT_W;

    // ---------------- memories ----------------
    // Where the flow defines SNNCC_LUTRAM (snncc synth --target ecp5), a
    // memory of at most LUTRAM_MAX bits is asked for in distributed RAM,
    // a table that is only read (weights, biases, routing) in logic
    // (ram_style), and a larger one left to the tool: synthesis then maps
    // what codegen::memories estimates, instead of spending a block RAM on
    // some small table. Without it the tool chooses (an iCE40 has no
    // distributed RAM and would refuse the attribute). The styles are
    // localparams because Icarus takes only a name in an attribute.
`ifdef SNNCC_LUTRAM
    localparam integer LUTRAM_MAX = 8192;
`else
    localparam integer LUTRAM_MAX = 0;
`endif
    /* verilator lint_off UNUSEDPARAM */
    localparam BIAS_STYLE = (B_DEPTH * LANES * B_BITS <= LUTRAM_MAX) ? "logic" : "auto";
    localparam TAPS_STYLE = (N_TAPW * SLOTS * SLOT_BITS <= LUTRAM_MAX) ? "logic" : "auto";
    localparam OFFS_STYLE = (SRC_PX * OFFS_BITS <= LUTRAM_MAX) ? "logic" : "auto";
    localparam CNT_STYLE = (N_GROUPS * LANES * COUNT_BITS <= LUTRAM_MAX) ? "distributed" : "auto";
    localparam V_STYLE = (N_GROUPS * LANES * MEMBRANE_BITS <= LUTRAM_MAX) ? "distributed" : "auto";
    localparam W_STYLE = (W_DEPTH * LANES * W_BITS <= LUTRAM_MAX) ? "logic" : "auto";
    localparam CUR_STYLE = (LQ_DEPTH * LANES * ACC_BITS <= LUTRAM_MAX) ? "distributed" : "auto";
    /* verilator lint_on UNUSEDPARAM */
    (* ram_style = BIAS_STYLE *) reg [LANES*B_BITS-1:0] biases [0:B_DEPTH-1];
    (* ram_style = TAPS_STYLE *) reg [SLOTS*SLOT_BITS-1:0] taps [0:N_TAPW-1];
    (* ram_style = OFFS_STYLE *) reg [OFFS_BITS-1:0] offs [0:SRC_PX-1];
    (* ram_style = CNT_STYLE *) reg [LANES*COUNT_BITS-1:0] counts [0:N_GROUPS-1];
    initial begin
        if (B_INIT != "") $readmemh(B_INIT, biases);
        if (TAP_INIT != "") $readmemh(TAP_INIT, taps);
        if (OFFS_INIT != "") $readmemh(OFFS_INIT, offs);
    end

    // ---------------- phases ----------------
    localparam [2:0] IDLE = 3'd0, CLEAR = 3'd1, SCAT = 3'd2, DRAIN = 3'd3,
                     UPD = 3'd4, UDRAIN = 3'd5, CAPT = 3'd6;
    reg [2:0] phase;
    reg then_scatter;      // after CLEAR: scatter the input as it streams in (load) or finish
    reg then_capture;      // after CLEAR: keep the input (load)
    reg then_update;       // after the scatter: update (neurons) or finish (load, gate)
    /* verilator lint_off UNUSEDSIGNAL */
    reg is_first;                        // (read by the update; a gate clears instead)
    /* verilator lint_on UNUSEDSIGNAL */

    // ---------------- fetch: source entries (or input elements) ----------------
    reg [LIST_BITS-1:0] f_idx;
    reg e_inflight;
    reg e_reg_valid;                     // the entry read, registered (e_reg)
    reg [IT_BITS-1:0] e_reg;
    wire e_empty, o_empty;
    wire [2:0] e_level, o_level;
    wire [IT_BITS-1:0] e_head;
    // The expander takes all of an item but its pixel (its offsets came with it).
    /* verilator lint_off UNUSEDSIGNAL */
    wire [IT_BITS-1:0] o_head;
    /* verilator lint_on UNUSEDSIGNAL */
    // The group whose list is fetched, and the group of the entry in flight.
    localparam integer GR_BITS = (GROUPS > 1) ? $clog2(GROUPS) : 1;
    localparam [31:0] GROUPS32 = GROUPS;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [GR_BITS-1:0] f_grp, e_grp;      // (one group: unread)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [LIST_BITS-1:0] f_count;        // entries in f_grp's list
    wire f_last;                         // f_grp is the last group
    wire [SRC_E_BITS-1:0] in_entry;      // the entry read, from e_grp's list
    // The analog input buffer: the image's non-zero elements {px, c, x},
    // n_in of them, read like a list (registered) at every step.
    localparam integer IN_E_BITS = SRC_PX_BITS + SRC_G_BITS + X_BITS;
    /* verilator lint_off UNUSEDPARAM */
    localparam IN_STYLE = (IN_LEN * IN_E_BITS <= LUTRAM_MAX) ? "distributed" : "auto";
    /* verilator lint_on UNUSEDPARAM */
    reg [LIST_BITS-1:0] n_in;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [IN_E_BITS-1:0] in_e;           // the element read (unread unless REPLAY)
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (RPL != 0) begin : input_list
            assign f_count = n_in;
            assign f_last = 1'b1;
            assign in_entry = {SRC_E_BITS{1'b0}};
        end else if (GROUPS == 1) begin : one_list
            assign f_count = src_count;
            assign f_last = 1'b1;
            assign in_entry = src_entry;
        end else begin : lists
            assign f_count = src_count[f_grp * LIST_BITS +: LIST_BITS];
            assign f_last = f_grp == GROUPS32[GR_BITS-1:0] - 1'b1;
            assign in_entry = src_entry[e_grp * SRC_E_BITS +: SRC_E_BITS];
        end
    endgenerate
    wire fetch_list = (KEEP == 0) && phase == SCAT && f_idx != f_count
        && (e_level + {2'b0, e_inflight} + {2'b0, e_reg_valid}) < 3'd4;
    wire fetch_next = (KEEP == 0) && phase == SCAT && f_idx == f_count && !f_last;
    assign src_index = f_idx;
    // The analog input: element a_n of pixel a_px, channel a_c.
    reg [LIST_BITS-1:0] a_n;
    reg [SRC_PX_BITS-1:0] a_px;
    reg [SRC_G_BITS-1:0] a_c;
    localparam [31:0] IN32 = IN_LEN;
    localparam [31:0] SRC_C32 = SRC_C;
    wire a_more = a_n != IN32[LIST_BITS-1:0];
    assign s_ready = (RPL != 0) ? (phase == CAPT && a_more)
        : ((KEEP != 0) && phase == SCAT && a_more && e_level < 3'd4);
    wire s_take = s_valid && s_ready;
    wire [X_BITS-1:0] s_x = s_data;
    generate
        if (RPL != 0) begin : input_buffer
            (* ram_style = IN_STYLE *) reg [IN_E_BITS-1:0] inbuf [0:IN_LEN-1];
            reg [IN_E_BITS-1:0] in_q;
            always @(posedge clk) begin
                if (s_take && s_x != 0) inbuf[n_in] <= {a_px, a_c, s_x};
                in_q <= inbuf[f_idx];
            end
            assign in_e = in_q;
        end else begin : no_input_buffer
            assign in_e = {IN_E_BITS{1'b0}};
        end
    endgenerate

    // Source entry fields.
    wire [SRC_PX_BITS-1:0] in_px = in_entry[SRC_E_BITS-1 -: SRC_PX_BITS];
    wire [SRC_G_BITS-1:0] in_g = in_entry[SRC_G_BITS+SRC_LANES-1:SRC_LANES];
    wire [SRC_LANES-1:0] in_mask = in_entry[SRC_LANES-1:0];
    // The entry read is registered once more (e_reg) before it is queued:
    // a spike list's block RAM sits near its producer, and its clock-to-out
    // with the route across the chip filled a cycle (VGG on the 45F: 5.8
    // ns and 4.2 ns from relu4's list into pool2's FIFO, 99.3 MHz).
    always @(posedge clk) begin
        e_reg_valid <= !rst && e_inflight;
        e_reg <= (RPL != 0)
            ? {in_e[IN_E_BITS-1:X_BITS], {SRC_LANES{1'b0}}, in_e[X_BITS-1:0], {CNT_W{1'b0}}}
            : {in_px, in_g, in_mask, {X_BITS{1'b0}}, {CNT_W{1'b0}}};
    end
    wire e_push = (KEEP != 0) ? (s_take && s_x != 0) : e_reg_valid;
    wire [IT_BITS-1:0] e_din = (KEEP != 0)
        ? {a_px, a_c, {SRC_LANES{1'b0}}, s_x, {CNT_W{1'b0}}}
        : e_reg;

    // ---------------- routing offsets of the entry's pixel ----------------
    reg o_inflight;
    reg [IT_BITS-1:0] o_item;
    reg [OFFS_BITS-1:0] offs_q;
    // The item with its offsets as read (o_*) is registered once more
    // (r_*: the offsets' block-RAM output and its route filled a cycle,
    // LeNet's conv1 at 110 MHz); a gate adds its source counts a stage
    // later still. q_* is what is queued for the expander.
    reg r_valid;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [IT_BITS-1:0] r_item;            // (a gate replaces its counts)
    /* verilator lint_on UNUSEDSIGNAL */
    reg [OFFS_BITS-1:0] r_offs;
    always @(posedge clk) begin
        r_valid <= !rst && o_inflight;
        r_item <= o_item;
        r_offs <= offs_q;
    end
    wire q_valid;
    wire [IT_BITS-1:0] q_item;
    wire [OFFS_BITS-1:0] q_offs;
    wire [1:0] q_stages;                 // items between the offsets' read and the FIFO
    // (sc_hazard: a gate holds back an entry whose source counts an
    // entry before it has yet to write, burst spikes only.)
    wire sc_hazard;
    wire e_pop = !e_empty && (o_level + {2'b0, o_inflight} + {1'b0, q_stages}) < 3'd4
        && !sc_hazard;
    wire [SRC_PX_BITS-1:0] e_head_px = e_head[IT_BITS-1 -: SRC_PX_BITS];
    // Every entry is queued, a few registers after the block RAM's output;
    // the expander drops pixels without taps (outside every window).
    wire o_push = q_valid;
    assign o_first = {item_low, item_lane[LN_BITS-1:0],
                      (FULL == 0) || (ANALOG != 0) || ((item_mask & ~item_low) == 0)};

    wire o_pop;
    wire [OFFS_BITS-1:0] o_head_offs;
    snn_fifo #(.WIDTH(IT_BITS), .AW(2)) fifo_e (
        .clk(clk), .rst(rst), .push(e_push), .din(e_din), .pop(e_pop),
        .dout(e_head), .empty(e_empty), .level(e_level));
    wire [FS_BITS-1:0] o_first;
    wire [FS_BITS-1:0] o_head_first;
    snn_fifo #(.WIDTH(IT_BITS + OFFS_BITS + FS_BITS), .AW(2)) fifo_o (
        .clk(clk), .rst(rst), .push(o_push), .din({q_item, q_offs, o_first}), .pop(o_pop),
        .dout({o_head, o_head_offs, o_head_first}), .empty(o_empty), .level(o_level));

    // ---------------- a gate's source counts ----------------
    // The gate keeps its source's spike counts, one word per source group
    // at {px, g} (G a power of two fills the depth; otherwise a pixel's
    // last words are unused). The word is read with the entry's offsets
    // and registered once more (sc_r: the block RAM's clock-to-out and
    // route into the adders made VGG's pool2 the 90.8 MHz path), the
    // entry's mask added a stage later and written back: an entry's item then
    // carries its source's counts after this step. Within a step a source
    // pushes each group at most once, so no entry reads a word an earlier
    // one has yet to write; steps are separated by the scatter's drain.
    // With burst spikes (BURST > 1) a source pushes a group up to BURST
    // times a step, one entry per lane mask: an entry waits at the FIFO's
    // head while one of the same word is between the read and the write
    // (three cycles; bursts are rare).
    // `init` clears the words (sc_clearing), as the sequencer issues
    // before every image.
    wire sc_clearing;
    // (Sized here, not in the generate block: Yosys takes an attribute's
    // value only from the module's own parameters and localparams.)
    localparam integer SG_BITS = (G > 1) ? $clog2(G) : 0;
    localparam integer SC_DEPTH = SRC_PX << SG_BITS;
    /* verilator lint_off UNUSEDPARAM */
    localparam SC_STYLE = (SC_DEPTH * CNT_W <= LUTRAM_MAX) ? "distributed" : "auto";
    /* verilator lint_on UNUSEDPARAM */
    generate
        if (GATE != 0) begin : source_counts
            localparam integer SA_BITS = SRC_PX_BITS + SG_BITS;
            localparam [31:0] SC32 = SC_DEPTH;
            (* ram_style = SC_STYLE *) reg [CNT_W-1:0] srccnt [0:SC_DEPTH-1];
            reg [CNT_W-1:0] sc_q, sc_r;
            reg [SA_BITS-1:0] sa_q, sa_r, sa_2, kc;
            reg kc_on;
            reg s2_valid;
            reg [IT_BITS-1:0] s2_item;
            reg [OFFS_BITS-1:0] s2_offs;
            wire [SA_BITS-1:0] e_head_sa;
            if (SG_BITS == 0) begin : by_pixel
                assign e_head_sa = e_head_px;
            end else begin : by_group
                /* verilator lint_off UNUSEDSIGNAL */
                wire [SRC_G_BITS-1:0] e_head_g = e_head[IT_BITS-SRC_PX_BITS-1 -: SRC_G_BITS];
                /* verilator lint_on UNUSEDSIGNAL */
                assign e_head_sa = {e_head_px, e_head_g[SG_BITS-1:0]};
            end
            // The entry's lanes added to its counts.
            wire [SRC_LANES-1:0] r_mask = r_item[SRC_LANES+X_BITS+CNT_W-1:X_BITS+CNT_W];
            reg [CNT_W-1:0] sc_new;
            integer k;
            always @(*) begin
                for (k = 0; k < SRC_LANES; k = k + 1)
                    sc_new[k*COUNT_BITS +: COUNT_BITS] = sc_r[k*COUNT_BITS +: COUNT_BITS]
                        + {{(COUNT_BITS-1){1'b0}}, r_mask[k]};
            end
            always @(posedge clk) begin
                sc_q <= srccnt[e_head_sa];
                sa_q <= e_head_sa;
                sc_r <= sc_q;
                sa_r <= sa_q;
                sa_2 <= sa_r;
                s2_item <= {r_item[IT_BITS-1:CNT_W], sc_new};
                s2_offs <= r_offs;
                if (s2_valid) srccnt[sa_2] <= s2_item[CNT_W-1:0];
                else if (kc_on) srccnt[kc] <= {CNT_W{1'b0}};
                if (rst) begin
                    s2_valid <= 1'b0;
                    kc_on <= 1'b0;
                    kc <= 0;
                end else begin
                    s2_valid <= r_valid;
                    if (init) begin
                        kc_on <= 1'b1;
                        kc <= 0;
                    end else if (kc_on) begin
                        if (kc == SC32[SA_BITS-1:0] - 1'b1) kc_on <= 1'b0;
                        kc <= kc + 1'b1;
                    end
                end
            end
            assign q_valid = s2_valid;
            assign q_item = s2_item;
            assign q_offs = s2_offs;
            assign q_stages = {1'b0, r_valid} + {1'b0, s2_valid};
            assign sc_clearing = kc_on;
            if (BURST > 1) begin : same_word
                assign sc_hazard = (o_inflight && sa_q == e_head_sa)
                    || (r_valid && sa_r == e_head_sa) || (s2_valid && sa_2 == e_head_sa);
            end else begin : one_entry_per_word
                assign sc_hazard = 1'b0;
            end
        end else begin : no_source_counts
            assign q_valid = r_valid;
            assign q_item = r_item;
            assign q_offs = r_offs;
            assign q_stages = {1'b0, r_valid};
            assign sc_clearing = 1'b0;
            assign sc_hazard = 1'b0;
        end
    endgenerate

    // ---------------- expander: one item per spike (full) or per entry ----------------
    reg x_valid;
    reg [SRC_G_BITS-1:0] x_g;
    reg [SRC_LANES-1:0] x_mask;          // spikes not yet handed on (full)
    reg [X_BITS-1:0] x_x;
    reg [CNT_W-1:0] x_cnt;
    reg [TAPW_BITS-1:0] x_start;
    reg [TAP_COUNT_BITS-1:0] x_words;
    reg [LQ_BITS-1:0] x_base;            // the pixel's base group (tap words are relative)
    // The lowest remaining spike, its lane and whether it is the last are
    // registers, computed as the mask changes, so the walker's handshake
    // and load see no priority logic.
    reg [SRC_LANES-1:0] x_low;
    reg [LN_BITS-1:0] x_lane;
    reg x_last;
    // The next spike of the entry being expanded (registers only); the
    // first of a queued entry comes with it (o_head_first).
    wire [SRC_LANES-1:0] rest_mask = x_mask & ~x_low;
    wire [SRC_LANES-1:0] rest_low = rest_mask & (~rest_mask + 1'b1);
    wire rest_last = (rest_mask & ~rest_low) == 0;
    wire [SRC_LANES-1:0] item_mask = q_item[SRC_LANES+X_BITS+CNT_W-1:X_BITS+CNT_W];
    wire [SRC_LANES-1:0] item_low = item_mask & (~item_mask + 1'b1);
    function [31:0] lane_of;             // index of a one-hot lane
        input [SRC_LANES-1:0] onehot;
        integer b;
        begin
            lane_of = 0;
            for (b = 0; b < SRC_LANES; b = b + 1)
                if (onehot[b]) lane_of = lane_of | b;
        end
    endfunction
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] rest_lane = lane_of(rest_low);
    wire [31:0] item_lane = lane_of(item_low);
    wire [31:0] x_ci32 = (ANALOG != 0) ? {{(32 - SRC_G_BITS){1'b0}}, x_g}
                                       : {{(32 - SRC_G_BITS){1'b0}}, x_g} * SRC_LANES
                                         + {{(32 - LN_BITS){1'b0}}, x_lane};
    /* verilator lint_on UNUSEDSIGNAL */

    // ---------------- walker: tap words x output groups ----------------
    reg w_valid, w_fin;
    reg [TAPW_BITS-1:0] w_j;
    reg [TAP_COUNT_BITS-1:0] w_jrem;     // tap words after this one
    reg [GQ_BITS-1:0] w_gqrem;           // groups after this one
    reg [WA_BITS-1:0] w_wo, w_wo0;
    reg [LQ_BITS-1:0] w_qo, w_qo0;
    reg [LANES-1:0] w_mask;
    reg [X_BITS-1:0] w_x;
    reg [CNT_W-1:0] w_cnt;
    reg [G_BITS-1:0] w_g;
    wire take = !w_valid || w_fin;
    wire x_hand = take && x_valid;       // the walker takes the expander's item
    assign o_pop = !o_empty && (!x_valid || (x_hand && x_last));
    localparam [31:0] GQ32 = GQ_N;
    wire [GQ_BITS-1:0] gq_last = GQ32[GQ_BITS-1:0] - 1'b1;
    // Fields of the expander's item as the walker takes it.
    // (Widened through 32 bits: the fields' widths differ between modes.)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] x_g32 = {{(32 - SRC_G_BITS){1'b0}}, x_g};
    wire [LANES+SRC_LANES-1:0] x_mask_wide = {{LANES{1'b0}}, x_mask};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [WA_BITS-1:0] x_wo0 = (FULL != 0) ? x_ci32[WA_BITS-1:0] : x_g32[WA_BITS-1:0];
    wire [LQ_BITS-1:0] x_qo0 = ((FULL != 0) ? {LQ_BITS{1'b0}} : x_g32[LQ_BITS-1:0]) + x_base;

    // ---------------- the scatter pipeline (stages 1-8) ----------------
    reg v0, v1;
    // Payload delayed along the stages; which fields a mode reads varies.
    /* verilator lint_off UNUSEDSIGNAL */
    reg [LQ_BITS-1:0] qo0, qo1;
    reg [LANES-1:0] m0, m1, m2, m3, m4, m5;
    reg [X_BITS-1:0] x0, x1, x2, x3, x4;
    reg [CNT_W-1:0] n0, n1, n2, n3, n4, n5;
    reg [G_BITS-1:0] g0, g1, g2, g3, g4, g5, g6;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [WA_BITS-1:0] wo0, wo1;
    reg [SLOTS*SLOT_BITS-1:0] tapw_q, tapw_r;
    wire scat_busy_pipe;

    // ---------------- the update pipeline ----------------
    reg [Q_BITS-1:0] uq;
    reg [PX_BITS-1:0] upx;
    reg [G_BITS-1:0] ug;
    reg [UB_BITS-1:0] ub;                // bank of upx (upx % SLOTS)
    reg [LQ_BITS-1:0] ula, urow;         // local group, local group of (upx / SLOTS, 0)
    reg u_on;
    reg [J_BITS-1:0] usub;               // cycles until the next group (UPD_SER)
    // Burst spikes (BURST > 1): the update issues a group only with a
    // credit for its further masks (the `bursts` block below).
    wire burst_ok, burst_pending;
    // (`start` only comes while the engine is idle, u_on low: it is not
    // in this term, whose fan-out is the whole update counter.)
    wire u_issue = u_on && usub == 0 && burst_ok;
    reg u1;                              // the issued group's current read is on the ports
    reg u2;                              // ... its current (and membrane) registered
    // (a gate has no update: its bookkeeping is left unread)
    /* verilator lint_off UNUSEDSIGNAL */
    reg [Q_BITS-1:0] uq1;
    reg [PX_BITS-1:0] upx1;
    reg [G_BITS-1:0] ug1;
    reg [UB_BITS-1:0] ub1;
    reg [LQ_BITS-1:0] ula1;
    reg [Q_BITS-1:0] uq2;
    reg [PX_BITS-1:0] upx2;
    reg [G_BITS-1:0] ug2;
    reg [UB_BITS-1:0] ub2;
    reg [LQ_BITS-1:0] ula2;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [LANES*MEMBRANE_BITS-1:0] v_q;
    reg [LANES*COUNT_BITS-1:0] c_q;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [LANES*MEMBRANE_BITS-1:0] v_r;   // (a gate has no update)
    reg [LANES*COUNT_BITS-1:0] c_r;
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_off UNUSEDSIGNAL */
    reg [LANES*B_BITS-1:0] b_q, b_r;     // (a gate has no bias)
    reg [LANES*MEMBRANE_BITS-1:0] v0_r;  // each lane's initial potential
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_off UNUSEDSIGNAL */
    wire [LANES*ACC_BITS-1:0] cur_sel;   // bank ub2's current (no update in a gate)
    /* verilator lint_on UNUSEDSIGNAL */
    // The update's result (hw/snn_update.v) and its bookkeeping.
    localparam integer META_BITS = Q_BITS + PX_BITS + G_BITS + UB_BITS + LQ_BITS;
    wire uo_valid, upd_busy, up_valid, up2_valid;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [META_BITS-1:0] up_meta, up2_meta;  // (only their bank is read ahead)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [UB_BITS-1:0] up_b = up_meta[UB_BITS+LQ_BITS-1 -: UB_BITS];
    wire [UB_BITS-1:0] up2_b = up2_meta[UB_BITS+LQ_BITS-1 -: UB_BITS];
    wire [LQ_BITS-1:0] up_la = up_meta[LQ_BITS-1:0];
    wire [LANES*MEMBRANE_BITS-1:0] uo_v;
    wire [LANES*COUNT_BITS-1:0] uo_c;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [BURST*LANES-1:0] uo_fired;      // mask j - 1: lanes that fired >= j times (not in a gate)
    /* verilator lint_on UNUSEDSIGNAL */
    wire [META_BITS-1:0] uo_meta;
    wire [Q_BITS-1:0] uo_q;
    wire [PX_BITS-1:0] uo_px;
    wire [G_BITS-1:0] uo_g;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [LQ_BITS-1:0] uo_la;            // (bank and group are read a cycle
    wire [UB_BITS-1:0] uo_b;             // ahead, from up_meta)
    /* verilator lint_on UNUSEDSIGNAL */
    assign {uo_q, uo_px, uo_g, uo_b, uo_la} = uo_meta;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [LANES*ACC_BITS-1:0] b_word;    // bias of the group the update reads, aligned
    /* verilator lint_on UNUSEDSIGNAL */
    // The group the current banks are cleared at next (by the clear sweep,
    // or after the update read it): registered a cycle ahead, so a bank's
    // write address chooses between two sources and its data is the
    // adder's register, reset to 0 the cycle before.
    reg [LQ_BITS-1:0] wla;

    // ---------------- clear sweep ----------------
    reg k_on, k1, k2;
    reg [LQ_BITS-1:0] kla, kla1;

    localparam [31:0] NG32 = N_GROUPS;
    localparam [31:0] LQ32 = LQ_DEPTH;
    localparam [31:0] G32 = G;
    localparam [G_BITS-1:0] G_LAST = G32[G_BITS-1:0] - 1'b1;
    localparam [Q_BITS-1:0] Q_LAST = NG32[Q_BITS-1:0] - 1'b1;
    localparam [LQ_BITS-1:0] LQ_LAST = LQ32[LQ_BITS-1:0] - 1'b1;
    localparam [LQ_BITS-1:0] G_LQ = G32[LQ_BITS-1:0];

    wire scatter_idle = phase == SCAT
        && ((KEEP != 0) ? !a_more : (f_idx == f_count && f_last && !e_inflight && !e_reg_valid))
        && e_empty && !o_inflight && q_stages == 0 && o_empty && !x_valid && !w_valid;
    // (MERGED: a group's new V is written to its bank the cycle after the
    // update's result.)
    reg u_wb;
    wire u_busy = u_on || u1 || u2 || upd_busy || u_wb || burst_pending;

    // ---------------- control ----------------
    always @(posedge clk) begin
        if (rst) begin
            phase <= IDLE;
            done <= 1'b0;
            f_idx <= 0;
            f_grp <= 0;
            e_inflight <= 1'b0;
            o_inflight <= 1'b0;
            x_valid <= 1'b0;
            w_valid <= 1'b0;
            w_fin <= 1'b0;
            a_n <= 0;
            a_px <= 0;
            a_c <= 0;
            n_in <= 0;
            k_on <= 1'b0;
            k1 <= 1'b0;
            k2 <= 1'b0;
            u_on <= 1'b0;
            u1 <= 1'b0;
            u2 <= 1'b0;
            usub <= 0;
            then_scatter <= 1'b0;
            then_capture <= 1'b0;
            then_update <= 1'b0;
            is_first <= 1'b0;
        end else begin
            // commands
            if (init) begin
                phase <= CLEAR;
                done <= 1'b0;
                then_scatter <= 1'b0;
                then_capture <= 1'b0;
                then_update <= 1'b0;
                k_on <= 1'b1;
                kla <= 0;
            end else if (load && ANALOG != 0) begin
                phase <= CLEAR;
                done <= 1'b0;
                then_scatter <= KEEP != 0;
                then_capture <= RPL != 0;
                then_update <= 1'b0;
                k_on <= 1'b1;
                kla <= 0;
                a_n <= 0;
                a_px <= 0;
                a_c <= 0;
                n_in <= 0;
            end else if (start) begin
                done <= 1'b0;
                is_first <= first;
                f_idx <= 0;
                f_grp <= 0;
                then_update <= (GATE == 0);
                if (KEEP != 0) begin
                    phase <= UPD;
                    u_on <= 1'b1;
                end else begin
                    phase <= SCAT;
                end
                uq <= 0;
                upx <= 0;
                ug <= 0;
                ub <= 0;
                ula <= 0;
                urow <= 0;
            end else begin
                case (phase)
                    CLEAR: if (!k_on && !k1 && !k2 && !sc_clearing) begin
                        if (then_scatter) begin
                            phase <= SCAT;
                        end else if (then_capture) begin
                            phase <= CAPT;
                        end else begin
                            phase <= IDLE;
                            done <= 1'b1;
                        end
                    end
                    SCAT: if (scatter_idle) phase <= DRAIN;
                    DRAIN: if (!scat_busy_pipe) begin
                        if (then_update) begin
                            phase <= UPD;
                            u_on <= 1'b1;
                        end else begin
                            phase <= IDLE;
                            done <= 1'b1;
                        end
                    end
                    CAPT: if (!a_more) begin
                        phase <= IDLE;
                        done <= 1'b1;
                    end
                    UPD: if (!u_on) phase <= UDRAIN;
                    UDRAIN: if (!u_busy) begin
                        phase <= IDLE;
                        done <= 1'b1;
                    end
                    default: ;
                endcase
            end

            // clear sweep: local groups 0..LQ_DEPTH-1 of every bank
            k1 <= k_on;
            k2 <= k1;
            kla1 <= kla;
            if (k_on && !init && !load && !start) begin
                if (kla == LQ_LAST) k_on <= 1'b0;
                kla <= kla + 1'b1;
            end

            // fetch
            e_inflight <= fetch_list;
            if (fetch_list) begin
                f_idx <= f_idx + 1'b1;
                e_grp <= f_grp;
            end
            if (fetch_next) begin
                f_grp <= f_grp + 1'b1;
                f_idx <= 0;
            end
            if (s_take) begin
                a_n <= a_n + 1'b1;
                if (s_x != 0) n_in <= n_in + 1'b1;
                if (a_c == SRC_C32[SRC_G_BITS-1:0] - 1'b1) begin
                    a_c <= 0;
                    a_px <= a_px + 1'b1;
                end else begin
                    a_c <= a_c + 1'b1;
                end
            end
            // offsets
            o_inflight <= e_pop;
            o_item <= e_head;

            // expander
            if (o_pop) begin
                x_valid <= o_head_offs[TAP_COUNT_BITS+LQ_BITS-1:LQ_BITS] != 0;
                {x_g, x_mask, x_x, x_cnt} <= o_head[IT_BITS-SRC_PX_BITS-1:0];
                {x_low, x_lane, x_last} <= o_head_first;
                {x_start, x_words, x_base} <= o_head_offs;
            end else if (x_hand) begin
                if (x_last) begin
                    x_valid <= 1'b0;
                end else begin
                    x_mask <= rest_mask;
                    x_low <= rest_low;
                    x_lane <= rest_lane[LN_BITS-1:0];
                    x_last <= rest_last;
                end
            end

            // walker
            if (x_hand) begin
                w_valid <= 1'b1;
                w_j <= x_start;
                w_jrem <= x_words - 1'b1;
                w_gqrem <= gq_last;
                w_fin <= (GQ_N == 1) && x_words == 1;
                w_wo <= x_wo0;
                w_wo0 <= x_wo0;
                w_qo <= x_qo0;
                w_qo0 <= x_qo0;
                w_mask <= x_mask_wide[LANES-1:0];
                w_x <= x_x;
                w_cnt <= x_cnt;
                w_g <= x_g32[G_BITS-1:0];
            end else if (w_valid && w_fin) begin
                w_valid <= 1'b0;
                w_fin <= 1'b0;
            end else if (w_valid) begin
                if (w_gqrem != 0) begin
                    w_gqrem <= w_gqrem - 1'b1;
                    w_wo <= w_wo + SRC_C32[WA_BITS-1:0];
                    w_qo <= w_qo + 1'b1;
                    w_fin <= w_gqrem == 1 && w_jrem == 0;
                end else begin
                    w_gqrem <= gq_last;
                    w_j <= w_j + 1'b1;
                    w_jrem <= w_jrem - 1'b1;
                    w_wo <= w_wo0;
                    w_qo <= w_qo0;
                    w_fin <= (GQ_N == 1) && w_jrem == 1;
                end
            end

            // update sweep: groups in order, pixel upx in bank upx % SLOTS
            if (u_on && usub != 0) usub <= usub - 1'b1;
            if (u_issue) begin
                usub <= SER_LAST;
                if (uq == Q_LAST) u_on <= 1'b0;
                uq <= uq + 1'b1;
                if (ug == G_LAST) begin
                    ug <= 0;
                    upx <= upx + 1'b1;
                    if (ub == UB_LAST) begin
                        ub <= 0;
                        urow <= urow + G_LQ;
                        ula <= urow + G_LQ;
                    end else begin
                        ub <= ub + 1'b1;
                        ula <= urow;
                    end
                end else begin
                    ug <= ug + 1'b1;
                    ula <= ula + 1'b1;
                end
            end
            u1 <= u_issue;
            u2 <= u1;
        end
    end
    always @(posedge clk)
        u_wb <= !rst && MERGED != 0 && uo_valid;
    // (u1 is reset with the rest: the write port's address mux must not
    // see an unknown update in the first cycles after reset, when the init
    // sweep writes.)

    // The expander's item joins the walker one cycle later; a fresh entry
    // keeps its source channel in x_g (and its spikes in x_mask).
    always @(posedge clk) begin
        uq1 <= uq;
        upx1 <= upx;
        ug1 <= ug;
        ub1 <= ub;
        ula1 <= ula;
        uq2 <= uq1;
        upx2 <= upx1;
        ug2 <= ug1;
        ub2 <= ub1;
        ula2 <= ula1;
    end

    // ---------------- scatter stage 0 -> 1: the tap word ----------------
    always @(posedge clk) begin
        offs_q <= offs[e_head_px];
        // The tap word's block-RAM read is registered once more (tapw_r)
        // before the address adders use it (LeNet's conv1: 5.6 ns
        // clock-to-out and 3.2 ns of route into qbase + qo), and the item's
        // fields wait with it (stage 0b).
        tapw_q <= taps[w_j];
        tapw_r <= tapw_q;
        v0 <= w_valid && !rst;
        v1 <= v0 && !rst;
        wo0 <= w_wo; wo1 <= wo0;
        qo0 <= w_qo; qo1 <= qo0;
        m0 <= w_mask; m1 <= m0; m2 <= m1; m3 <= m2; m4 <= m3; m5 <= m4;
        x0 <= w_x; x1 <= x0; x2 <= x1; x3 <= x2; x4 <= x3;
        n0 <= w_cnt; n1 <= n0; n2 <= n1; n3 <= n2; n4 <= n3; n5 <= n4;
        g0 <= w_g; g1 <= g0; g2 <= g1; g3 <= g2; g4 <= g3; g5 <= g4; g6 <= g5;
    end

    // ---------------- the update's reads ----------------
    // A group's membrane, counts and bias are read as it is issued, like
    // its current, and registered once more (v_r, c_r, b_r), so all arrive
    // together with the registered current (u2) and no block-RAM output
    // (5.8 ns clock-to-out on an ECP5, then a multiplexer where a memory
    // spans several blocks in depth) feeds the update's capture directly.
    // The read-out reads while the engine is idle (u_on low).
    always @(posedge clk) begin
        c_q <= counts[u_on ? uq : c_read_addr];
        c_r <= c_q;
        b_r <= b_q;
    end
    // The membrane memory, or none (MERGED: the banks hold V + sum, and the
    // update's V is 0; snncc never merges a membrane the read-out scans).
    generate
        if (MERGED == 0) begin : membrane_memory
            (* ram_style = V_STYLE *) reg [LANES*MEMBRANE_BITS-1:0] membrane [0:N_GROUPS-1];
            always @(posedge clk) begin
                v_q <= membrane[u_on ? uq : v_read_addr];
                v_r <= v_q;
                if (uo_valid && GATE == 0) membrane[uo_q] <= uo_v;
            end
        end else begin : membrane_in_banks
            /* verilator lint_off UNUSEDSIGNAL */
            wire unread = ^v_read_addr;  // (no membrane to read)
            /* verilator lint_on UNUSEDSIGNAL */
            always @(posedge clk) begin
                v_q <= {(LANES*MEMBRANE_BITS){1'b0}};
                v_r <= {(LANES*MEMBRANE_BITS){1'b0}};
            end
        end
    endgenerate
    // The bias: read as the group is issued and registered again (a large
    // bias table may be block RAM; the update adds it). B_DEPTH = N_GROUPS:
    // a bias per pixel and group (a BN folded forward through zero
    // padding), read at the group's address.
    generate
        if (B_DEPTH == G) begin : bias_per_channel
            always @(posedge clk)
                b_q <= biases[ug];
        end else begin : bias_per_pixel
            always @(posedge clk)
                b_q <= biases[uq];
        end
    endgenerate
    // The initial potentials, read and registered like the bias (the
    // update takes them at an image's first step).
    generate
        if (V0_INIT != "") begin : v0_per_channel
            reg [LANES*MEMBRANE_BITS-1:0] v0s [0:G-1];
            initial $readmemh(V0_INIT, v0s);
            reg [LANES*MEMBRANE_BITS-1:0] v0_q;
            always @(posedge clk) begin
                v0_q <= v0s[ug];
                v0_r <= v0_q;
            end
        end else begin : v0_per_layer
            always @(posedge clk)
                v0_r <= {LANES{V0}};
        end
    endgenerate
    always @(posedge clk)
        wla <= k1 ? kla1 : (MERGED != 0) ? uo_la : up_la;
    assign v_read_data = v_q;
    assign c_read_data = c_q;

    // ---------------- burst spikes (BURST > 1) ----------------
    // A group's first mask (the lanes that fired) is pushed as the update
    // returns it; a group with lanes that fired again leaves its further
    // masks in a small FIFO, pushed one mask a cycle whenever the update
    // pushes nothing (bursts are rare). Credits keep the FIFO from
    // overflowing: each group issued holds one until it has left the
    // update with no further masks or its FIFO entry has been taken, and
    // the update issues only with a credit (as many as the FIFO's entries).
    wire fire_push = GATE == 0 && FIRES != 0 && uo_valid && uo_fired[LANES-1:0] != 0;
    wire burst_push;                     // a kept mask is pushed this cycle
    wire [E_BITS-1:0] burst_entry;
    /* verilator lint_off UNUSEDSIGNAL */
    wire bursting;                       // this step may burst (after BURST_AFTER steps; no gate reads it)
    /* verilator lint_on UNUSEDSIGNAL */
    generate
        if (BURST > 1 && GATE == 0) begin : bursts
            localparam integer XB = (BURST - 1) * LANES;
            localparam integer BW = PX_BITS + G_BITS + XB;
            localparam integer KEPT_AW = 4;          // the FIFO's 16 entries = the credits
            localparam [KEPT_AW+1:0] KEPT = 1 << KEPT_AW;
            wire more = uo_valid && uo_fired[LANES +: LANES] != 0;
            wire [BW-1:0] head;
            wire empty;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [KEPT_AW:0] level;
            /* verilator lint_on UNUSEDSIGNAL */
            reg d_on;                    // a kept group's masks are being pushed
            reg [PX_BITS+G_BITS-1:0] d_at;
            reg [XB-1:0] d_m;            // its masks still to push, the next lowest
            wire d_take = !d_on && !empty;
            snn_fifo #(.WIDTH(BW), .AW(KEPT_AW)) kept (
                .clk(clk), .rst(rst), .push(more),
                .din({uo_px, uo_g, uo_fired[BURST*LANES-1:LANES]}),
                .pop(d_take), .dout(head), .empty(empty), .level(level));
            assign burst_push = d_on && !fire_push;
            assign burst_entry = {d_at, d_m[LANES-1:0]};
            wire [XB-1:0] d_rest = d_m >> LANES;
            always @(posedge clk) begin
                if (rst) begin
                    d_on <= 1'b0;
                end else if (d_take) begin
                    d_on <= 1'b1;
                    {d_at, d_m} <= head;
                end else if (burst_push) begin
                    d_m <= d_rest;
                    if (d_rest[LANES-1:0] == 0) d_on <= 1'b0;
                end
            end
            reg [KEPT_AW+1:0] cred;
            reg cred_ok;
            wire [KEPT_AW+1:0] cred_next = cred - {{(KEPT_AW+1){1'b0}}, u_issue}
                + {{(KEPT_AW+1){1'b0}}, uo_valid && !more} + {{(KEPT_AW+1){1'b0}}, d_take};
            always @(posedge clk) begin
                if (rst) begin
                    cred <= KEPT;
                    cred_ok <= 1'b1;
                end else begin
                    cred <= cred_next;
                    cred_ok <= cred_next != 0;
                end
            end
            assign burst_ok = cred_ok;
            assign burst_pending = d_on || !empty;
            // The image's steps before this one, counted up to BURST_AFTER:
            // step t (from 1) bursts when t - 1 >= BURST_AFTER (the
            // simulators' `t > burst_after`). Set at `start`, before the
            // step's first group reaches the update.
            localparam integer SA_BITS = $clog2(BURST_AFTER + 1) + 1;
            localparam [31:0] SA32 = BURST_AFTER;
            localparam [SA_BITS-1:0] SA = SA32[SA_BITS-1:0];
            reg [SA_BITS-1:0] steps_before;
            always @(posedge clk) begin
                if (rst) steps_before <= {SA_BITS{1'b0}};
                else if (start) steps_before <= first ? {SA_BITS{1'b0}}
                    : (steps_before == SA) ? SA : steps_before + 1'b1;
            end
            assign bursting = steps_before == SA;
        end else begin : no_bursts
            assign bursting = 1'b0;
            assign burst_ok = 1'b1;
            assign burst_pending = 1'b0;
            assign burst_push = 1'b0;
            assign burst_entry = {E_BITS{1'b0}};
        end
    endgenerate

    // The update's writes and spikes.
    always @(posedge clk) begin
        if (uo_valid && COUNTS != 0) counts[uo_q] <= uo_c;
        if (rst) begin
            push <= 1'b0;
        end else begin
            push <= 1'b0;
            if (fire_push) begin
                push <= 1'b1;
                push_entry <= {uo_px, uo_g, uo_fired[LANES-1:0]};
            end else if (burst_push) begin
                push <= 1'b1;
                push_entry <= burst_entry;
            end
            if (GATE != 0 && gate_push) begin
                push <= 1'b1;
                push_entry <= {gate_px, g6, gate_fire};
            end
        end
    end

    // ---------------- the update arithmetic (hw/snn_update.v) ----------------
    genvar l;
    generate
        if (GATE != 0) begin : no_update
            assign uo_valid = 1'b0;
            assign upd_busy = 1'b0;
            assign uo_v = {(LANES*MEMBRANE_BITS){1'b0}};
            assign uo_c = {(LANES*COUNT_BITS){1'b0}};
            assign uo_fired = {(BURST*LANES){1'b0}};
            assign uo_meta = {META_BITS{1'b0}};
            assign up_valid = 1'b0;
            assign up_meta = {META_BITS{1'b0}};
            assign up2_valid = 1'b0;
            assign up2_meta = {META_BITS{1'b0}};
        end else begin : update
            snn_update #(
                .LANES(LANES), .SER(UPD_SER), .MEMBRANE_BITS(MEMBRANE_BITS), .ACC_BITS(ACC_BITS),
                .THETA_BITS(THETA_BITS), .THETA(THETA), .SATURATE(SATURATE), .FIRES(FIRES),
                .COUNT_BITS(COUNT_BITS), .META_BITS(META_BITS), .BURST(BURST)
            ) upd (
                .clk(clk), .rst(rst), .in_valid(u2), .first(is_first), .bursting(bursting),
                .in_v(v_r), .in_v0(v0_r), .in_i(cur_sel), .in_b(b_word), .in_c(c_r),
                .in_lanes((ug2 == G_LAST) ? LAST_MASK : {LANES{1'b1}}),
                .in_meta({uq2, upx2, ug2, ub2, ula2}),
                .out_valid(uo_valid), .out_v(uo_v), .out_c(uo_c), .out_fired(uo_fired),
                .out_meta(uo_meta), .busy(upd_busy), .pre_valid(up_valid), .pre_meta(up_meta),
                .pre2_valid(up2_valid), .pre2_meta(up2_meta));
        end
        // Bias words aligned to the accumulator.
        if (GATE != 0) begin : no_bias
            assign b_word = {(LANES*ACC_BITS){1'b0}};
        end else begin : bias
            for (l = 0; l < LANES; l = l + 1) begin : lane
                wire signed [B_BITS-1:0] bu = b_r[l*B_BITS +: B_BITS];
                assign b_word[l*ACC_BITS +: ACC_BITS] =
                    $signed({{(ACC_BITS - B_BITS - B_SHIFT){bu[B_BITS-1]}}, bu, {B_SHIFT{1'b0}}});
            end
        end
    endgenerate

    // MERGED: the update's new membranes, as bank lanes (sign-extended).
    wire [LANES*ACC_BITS-1:0] v_back;
    generate
        if (MERGED != 0 && GATE == 0) begin : write_back
            for (l = 0; l < LANES; l = l + 1) begin : lane
                wire [MEMBRANE_BITS-1:0] vl = uo_v[l*MEMBRANE_BITS +: MEMBRANE_BITS];
                assign v_back[l*ACC_BITS +: ACC_BITS] =
                    {{(ACC_BITS - MEMBRANE_BITS){vl[MEMBRANE_BITS-1]}}, vl};
            end
        end else begin : no_write_back
            assign v_back = {(LANES*ACC_BITS){1'b0}};
        end
    endgenerate

    // ---------------- per slot: the scatter pipeline and a current bank ----------------
    wire [SLOTS-1:0] busy_s;
    wire [SLOTS*LANES*ACC_BITS-1:0] cur_q_all;
    // A gate has one slot: only slot 0's pushes are read.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [SLOTS-1:0] gate_push_s;
    wire [SLOTS*LANES-1:0] gate_fire_s;
    wire [SLOTS*PXS_BITS-1:0] gate_px_s;
    /* verilator lint_on UNUSEDSIGNAL */
    genvar s;
    generate
        for (s = 0; s < SLOTS; s = s + 1) begin : slot
            wire [SLOT_BITS-1:0] word = tapw_r[s*SLOT_BITS +: SLOT_BITS];
            wire ok = word[SLOT_BITS-1];
            wire [PXS_BITS-1:0] spx = word[SLOT_BITS-2 -: PXS_BITS];
            wire [WB_BITS-1:0] wbase = word[LQ_BITS+WB_BITS-1:LQ_BITS];
            wire [LQ_BITS-1:0] qbase = word[LQ_BITS-1:0];
            // stage 1 -> 2: addresses
            reg v2, v3, v4, v5, v6, v7;
            reg [WA_BITS-1:0] wa2;
            reg [LQ_BITS-1:0] qa2, qa3, qa4, qa5, qa6, qa7;
            reg [PXS_BITS-1:0] px2, px3, px4, px5, px6;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [31:0] wa_sum = {{(32 - WB_BITS){1'b0}}, wbase} + {{(32 - WA_BITS){1'b0}}, wo1};
            /* verilator lint_on UNUSEDSIGNAL */
            // The weight word of the item at stage 4 (read at 2 -> 3 and
            // registered again). Off chip, the word arrives W_EXT cycles
            // later, so the item's other fields wait as long between
            // stages 2 and 3 (v2d, qa2d, px2d): nothing after the weight
            // read changes, forwarding included.
            reg [LANES*W_BITS-1:0] w_q, w_r;
            wire v2d;
            wire [LQ_BITS-1:0] qa2d;
            wire [PXS_BITS-1:0] px2d;
            wire wait_busy;
            if (W_EXT == 0) begin : w_chip
                (* ram_style = W_STYLE *) reg [LANES*W_BITS-1:0] weights [0:W_DEPTH-1];
                initial if (W_INIT != "") $readmemh(W_INIT, weights);
                always @(posedge clk)
                    w_q <= weights[wa2];
                assign v2d = v2;
                assign qa2d = qa2;
                assign px2d = px2;
                assign wait_busy = 1'b0;
            end else begin : w_off
                reg [W_EXT-1:0] dv;
                reg [LQ_BITS-1:0] dqa [0:W_EXT-1];
                reg [PXS_BITS-1:0] dpx [0:W_EXT-1];
                integer d;
                always @(posedge clk) begin
                    w_q <= w_data;
                    dv[0] <= v2 && !rst;
                    dqa[0] <= qa2;
                    dpx[0] <= px2;
                    for (d = 1; d < W_EXT; d = d + 1) begin
                        dv[d] <= dv[d-1] && !rst;
                        dqa[d] <= dqa[d-1];
                        dpx[d] <= dpx[d-1];
                    end
                end
                assign v2d = dv[W_EXT-1];
                assign qa2d = dqa[W_EXT-1];
                assign px2d = dpx[W_EXT-1];
                assign wait_busy = dv != 0;
            end
            if (s == 0) begin : w_port
                assign w_addr = wa2;
                assign w_en = v2 && W_EXT != 0;
            end
            always @(posedge clk)
                w_r <= w_q;
            reg [LANES*ACC_BITS-1:0] i_q, i_u, i_b, sum6, sum7, sum8;
            /* verilator lint_off UNUSEDSIGNAL */
            reg [LANES*ACC_BITS-1:0] term;   // (the analog layer's is in snn_mul_reg)
            /* verilator lint_on UNUSEDSIGNAL */
            reg sel1, sel2, sel3;
            reg [LANES-1:0] fire6;
            // FAST: the bank is distributed RAM, its registered read comes
            // from a flip-flop, so the current is read a stage later (qa4),
            // added in stage 5 and written at its end: only the write of the
            // item one ahead is not yet visible (forwarded from sum_r). A
            // clear adds 0 to 0 (zero5 masks the read, the term is reset).
            reg sel_f, zero5;
            reg [LANES*ACC_BITS-1:0] sum_r;
            wire [LANES*ACC_BITS-1:0] base_f =
                ({(LANES*ACC_BITS){sel_f}} & sum_r) | ({(LANES*ACC_BITS){!sel_f && !zero5}} & i_q);
            wire [LANES*ACC_BITS-1:0] base = (FAST != 0) ? base_f
                : sel1 ? sum6 : sel2 ? sum7 : sel3 ? sum8 : i_b;
            // term_q: the registered term stage 5 adds (the analog layer's
            // is its multiplier's product register, the others' `term`).
            wire [LANES*ACC_BITS-1:0] term_next, term_q, sum_next_s;
            wire [LANES-1:0] fire_next;
            // The write port's three users never overlap; which one
            // writes is decided a cycle ahead into registers (the port's
            // address and data fan out to every RAM cell of the bank). A
            // clear writes the adder's register, reset to 0 a cycle ahead;
            // a merged update writes its new V, which it has a cycle later
            // than the separate update's 0 (the result, not the pre-result).
            // u_next is itself a register, decided from the update's
            // state a cycle earlier still: the update's valid fans out to
            // every lane of every bank (LeNet's conv2: 4.7 ns of route).
            reg u_here, u_pre;
            always @(posedge clk)
                u_pre <= !rst && KEEP == 0 && GATE == 0
                    && ((MERGED != 0) ? (up_valid && up_b == s) : (up2_valid && up2_b == s));
            wire u_next = !rst && u_pre;
            wire clr_next = u_next || k1;    // the next cycle writes a 0 (or V)
            wire back_s = MERGED != 0 && u_next;
            always @(posedge clk)
                u_here <= u_next;
            wire v_w = (FAST != 0) ? v5 : v6;
            wire [LQ_BITS-1:0] qa_w = (FAST != 0) ? qa5 : qa6;
            wire we = v_w || u_here || k2;
            wire [LQ_BITS-1:0] wa_cur = v_w ? qa_w : wla;
            wire [LANES*ACC_BITS-1:0] wd_cur = (FAST != 0) ? sum_next_s : sum6;
            wire [LQ_BITS-1:0] ra_cur = (phase == UPD || phase == UDRAIN) ? ula
                : (FAST != 0) ? qa4 : qa3;
            always @(posedge clk) begin
                v2 <= v1 && ok && !rst;
                wa2 <= wa_sum[WA_BITS-1:0];
                qa2 <= qbase + qo1;
                px2 <= spx;
                // stage 2 -> 3: the weight (read above)
                v3 <= v2d && !rst;
                qa3 <= qa2d;
                px3 <= px2d;
                // stage 3 -> 4: the current (and the weight registered again)
                v4 <= v3 && !rst;
                qa4 <= qa3;
                px4 <= px3;
                // stage 4 -> 5: the term, and which earlier write to forward
                // (FAST writes the adder's output: V comes through the term,
                // the base masked by zero5.)
                term <= (back_s && FAST != 0) ? v_back
                    : clr_next ? {(LANES*ACC_BITS){1'b0}} : term_next;
                i_b <= i_q;
                sel_f <= v5 && qa5 == qa4;
                zero5 <= clr_next;
                sel1 <= v5 && qa5 == qa4;
                sel2 <= v6 && qa6 == qa4;
                sel3 <= v7 && qa7 == qa4;
                v5 <= v4 && !rst;
                qa5 <= qa4;
                px5 <= px4;
                // stage 5 -> 6: the sum (or the gate's counts)
                sum6 <= (back_s && FAST == 0) ? v_back
                    : clr_next ? {(LANES*ACC_BITS){1'b0}} : sum_next_s;
                sum_r <= sum_next_s;
                fire6 <= fire_next;
                v6 <= v5 && !rst;
                qa6 <= qa5;
                px6 <= px5;
                // stage 6: the write; 7, 8: kept for forwarding
                sum7 <= sum6;
                sum8 <= sum7;
                v7 <= v6 && !rst;
                qa7 <= qa6;
            end
            // A current bank: one registered read port, one write port
            // (small banks become distributed RAM, the others block RAM).
            (* ram_style = CUR_STYLE *) reg [LANES*ACC_BITS-1:0] current [0:LQ_DEPTH-1];
            always @(posedge clk) begin
                if (we) current[wa_cur] <= wd_cur;
                i_q <= current[ra_cur];
                // The update's copy: block RAM clock-to-out (5.8 ns on an
                // ECP5) leaves no room for the bank mux behind it.
                i_u <= i_q;
            end
            assign cur_q_all[s*LANES*ACC_BITS +: LANES*ACC_BITS] = i_u;
            genvar k;
            for (k = 0; k < LANES; k = k + 1) begin : lane
                // A gate reads no weight and adds no term.
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [W_BITS-1:0] w = w_r[k*W_BITS +: W_BITS];
                wire signed [ACC_BITS-1:0] t = term_q[k*ACC_BITS +: ACC_BITS];
                /* verilator lint_on UNUSEDSIGNAL */
                /* verilator lint_off UNUSEDSIGNAL */
                wire signed [ACC_BITS-1:0] b = base[k*ACC_BITS +: ACC_BITS];
                /* verilator lint_on UNUSEDSIGNAL */
                if (ANALOG != 0) begin : mac
                    // The product's register is the term's (on an ECP5 the
                    // DSP's own, hw/snn_mul_reg.v), cleared with it. It is
                    // exact in W_BITS + X_BITS bits, and snncc sizes
                    // ACC_BITS for it, so the low ACC_BITS bits are the
                    // product whichever width is larger.
                    wire signed [W_BITS+X_BITS-1:0] product;
                    snn_mul_reg #(.A_BITS(W_BITS), .B_BITS(X_BITS)) mul (
                        .clk(clk), .clr(clr_next), .a(w), .b(x4), .p(product));
                    /* verilator lint_off UNUSEDSIGNAL */
                    wire signed [ACC_BITS+W_BITS+X_BITS-1:0] p_ext =
                        {{ACC_BITS{product[W_BITS+X_BITS-1]}}, product};
                    /* verilator lint_on UNUSEDSIGNAL */
                    wire [ACC_BITS-1:0] prod = p_ext[ACC_BITS-1:0] <<< P_SHIFT;
                    if (FAST != 0 && MERGED != 0) begin : with_back
                        // A merged update on distributed RAM brings its V
                        // through `term` while the product is cleared
                        // (clr_next), and `term` is 0 otherwise: the OR is
                        // whichever is there.
                        assign term_q[k*ACC_BITS +: ACC_BITS] = prod | term[k*ACC_BITS +: ACC_BITS];
                    end else begin : product_only
                        assign term_q[k*ACC_BITS +: ACC_BITS] = prod;
                    end
                    assign term_next[k*ACC_BITS +: ACC_BITS] = {ACC_BITS{1'b0}};
                end else if (GATE != 0) begin : none
                    assign term_next[k*ACC_BITS +: ACC_BITS] = {ACC_BITS{1'b0}};
                    assign term_q[k*ACC_BITS +: ACC_BITS] = term[k*ACC_BITS +: ACC_BITS];
                end else begin : add
                    assign term_q[k*ACC_BITS +: ACC_BITS] = term[k*ACC_BITS +: ACC_BITS];
                    wire keep = (FULL != 0) || m4[k];
                    assign term_next[k*ACC_BITS +: ACC_BITS] = keep
                        ? $signed({{(ACC_BITS - W_BITS - W_SHIFT){w[W_BITS-1]}}, w, {W_SHIFT{1'b0}}})
                        : {ACC_BITS{1'b0}};
                end
                if (GATE != 0) begin : gate
                    // A gate's bank is never FAST, so stage 5's base is one
                    // of four registers: the three sums still being written
                    // and the bank's read. Each is compared and incremented
                    // at once and the result selected; selecting first put
                    // the mux, the compare's carry chain and the
                    // increment's in one cycle (VGG pool1's 10 ns path on
                    // the 45F).
                    wire [COUNT_BITS-1:0] src_n = n5[k*COUNT_BITS +: COUNT_BITS];
                    wire [ACC_BITS-1:0] c6 = sum6[k*ACC_BITS +: ACC_BITS];
                    wire [ACC_BITS-1:0] c7 = sum7[k*ACC_BITS +: ACC_BITS];
                    wire [ACC_BITS-1:0] c8 = sum8[k*ACC_BITS +: ACC_BITS];
                    wire [ACC_BITS-1:0] cb = i_b[k*ACC_BITS +: ACC_BITS];
                    wire f6 = m5[k] && src_n > c6[COUNT_BITS-1:0];
                    wire f7 = m5[k] && src_n > c7[COUNT_BITS-1:0];
                    wire f8 = m5[k] && src_n > c8[COUNT_BITS-1:0];
                    wire fb = m5[k] && src_n > cb[COUNT_BITS-1:0];
                    wire [ACC_BITS-1:0] one = {{(ACC_BITS - 1){1'b0}}, 1'b1};
                    wire [ACC_BITS-1:0] s6 = f6 ? c6 + one : c6;
                    wire [ACC_BITS-1:0] s7 = f7 ? c7 + one : c7;
                    wire [ACC_BITS-1:0] s8 = f8 ? c8 + one : c8;
                    wire [ACC_BITS-1:0] sb = fb ? cb + one : cb;
                    assign fire_next[k] = sel1 ? f6 : sel2 ? f7 : sel3 ? f8 : fb;
                    assign sum_next_s[k*ACC_BITS +: ACC_BITS] = sel1 ? s6 : sel2 ? s7 : sel3 ? s8 : sb;
                end else begin : acc
                    assign fire_next[k] = 1'b0;
                    assign sum_next_s[k*ACC_BITS +: ACC_BITS] = b + t;
                end
            end
            assign busy_s[s] = v2 || wait_busy || v3 || v4 || v5 || v6;
            assign gate_push_s[s] = v6 && fire6 != 0;
            assign gate_fire_s[s*LANES +: LANES] = fire6;
            assign gate_px_s[s*PXS_BITS +: PXS_BITS] = px6;
        end
    endgenerate
    assign scat_busy_pipe = v0 || v1 || w_valid || (busy_s != 0);
    // A gate has one slot (one push per cycle).
    wire gate_push = gate_push_s[0];
    wire [LANES-1:0] gate_fire = gate_fire_s[LANES-1:0];
    /* verilator lint_off UNUSEDSIGNAL */
    wire [31:0] gate_px_w = {{(32 - PXS_BITS){1'b0}}, gate_px_s[PXS_BITS-1:0]};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [PX_BITS-1:0] gate_px = gate_px_w[PX_BITS-1:0];

    // The update reads the current of its pixel's bank: an AND-OR mux
    // (an indexed part-select would become a barrel shifter).
    // Its select is one-hot and registered with the read (no compare in
    // front of the 208-bit-wide mux of a 16-lane, 5-slot engine).
    reg [LANES*ACC_BITS-1:0] cur_mux;
    reg [SLOTS-1:0] ub_oh1, ub_oh2;
    integer b;
    always @(posedge clk) begin
        for (b = 0; b < SLOTS; b = b + 1)
            ub_oh1[b] <= ({{(32 - UB_BITS){1'b0}}, ub} == b);
        ub_oh2 <= ub_oh1;
    end
    always @(*) begin
        cur_mux = {(LANES*ACC_BITS){1'b0}};
        for (b = 0; b < SLOTS; b = b + 1)
            if (ub_oh2[b]) cur_mux = cur_mux | cur_q_all[b*LANES*ACC_BITS +: LANES*ACC_BITS];
    end
    assign cur_sel = cur_mux;
endmodule
`default_nettype wire
