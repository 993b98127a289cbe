// A fully connected layer of IF neurons (or the readout, FIRES = 0) fed by
// the spikes of another layer, one time step per `start` (docs/hardware.md,
// arithmetic of docs/fixed-point.md §4.2-4.3). One lane: one synaptic
// operation or one neuron update per cycle after a one-cycle pipeline fill.
//
//   init   (on `init`):  V[u] = V0 for every neuron             N_OUT cycles
//   bias   (on `start`): I[u] = bias[u] << B_SHIFT              N_OUT + 1
//   scatter: for each source spike i: I[u] += W[i][u] << W_SHIFT  spikes * N_OUT + 2 each
//   update: V[u], spike = if_neuron(V[u], I[u]); push u if it fired  N_OUT + 1
//
// With ANALOG = 1 the layer reads the analog input instead (§4.4): on
// `load` it computes its constant current once per image, bias then
// I[u] += (W[i][u] * x[i]) << P_SHIFT over every input i (the source list
// is then all inputs, src_addr = i and src_value = x[i], one cycle after
// src_index), and each `start` only runs the update phase.
//
// Weights and biases are raw values of their formats ($readmemh images);
// the shifts align them to the membrane's fractional bits. `done` is high
// from the end of a step or init until the next `start`/`init`; every
// spike of a step is pushed before `done` rises.
`timescale 1ns/1ps
module snn_dense_layer #(
    parameter integer N_IN = 4,
    parameter integer N_OUT = 4,
    parameter integer IN_BITS = 2,       // address bits of a source neuron
    parameter integer OUT_BITS = 2,      // address bits of an output neuron
    parameter integer W_ADDR_BITS = 4,   // address bits of the weight memory
    parameter integer COUNT_BITS = 3,    // bits of the source spike count
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
    parameter integer FIRES = 1,
    parameter integer ANALOG = 0,
    parameter integer X_BITS = 8,        // bits of an analog input value
    parameter integer P_SHIFT = 0,       // shift of a product w * x
    parameter W_INIT = "",
    parameter B_INIT = ""
) (
    input  wire                     clk,
    input  wire                     init,
    input  wire                     start,
    input  wire                     load,
    output reg                      done,
    // the source layer's spike list: `src_count` entries, read by index
    input  wire [COUNT_BITS-1:0]    src_count,
    output reg  [COUNT_BITS-1:0]    src_index,
    input  wire [IN_BITS-1:0]       src_addr,
    input  wire signed [X_BITS-1:0] src_value,
    // this layer's spikes, in increasing neuron order
    output reg                      push,
    output reg  [OUT_BITS-1:0]      push_addr,
    // the membrane, for reading out the potential while idle (`done`):
    // `v_read_data` is that of `v_read_addr` one cycle earlier
    input  wire [OUT_BITS-1:0]      v_read_addr,
    output wire signed [MEMBRANE_BITS-1:0] v_read_data
);
    reg signed [W_BITS-1:0] weights [0:N_IN*N_OUT-1];
    reg signed [B_BITS-1:0] biases [0:N_OUT-1];
    reg signed [ACC_BITS-1:0] current [0:N_OUT-1];
    reg signed [MEMBRANE_BITS-1:0] membrane [0:N_OUT-1];

    initial begin
        if (W_INIT != "") $readmemh(W_INIT, weights);
        if (B_INIT != "") $readmemh(B_INIT, biases);
    end

    reg loading;                  // computing an analog layer's current
    reg signed [X_BITS-1:0] x_q;  // the analog value of the current source
    localparam [2:0] IDLE = 3'd0, INIT = 3'd1, BIAS = 3'd2, FETCH = 3'd3,
                     SCATTER = 3'd4, UPDATE = 3'd5, FINISH = 3'd6;
    reg [2:0] state;
    reg [OUT_BITS:0] u;           // neuron counter (one spare bit for the end)
    reg [OUT_BITS-1:0] p_addr;    // the neuron whose read data is arriving
    reg              valid;       // read data of u_prev is arriving
    reg [W_ADDR_BITS-1:0] row;    // src_addr * N_OUT

    // Registered reads (block RAM), addressed by `u` and the current row.
    reg signed [W_BITS-1:0] w_q;
    reg signed [B_BITS-1:0] b_q;
    reg signed [ACC_BITS-1:0] i_q;
    reg signed [MEMBRANE_BITS-1:0] v_q;

    wire signed [ACC_BITS-1:0] w_aligned = $signed({{(ACC_BITS - W_BITS - W_SHIFT){w_q[W_BITS-1]}}, w_q, {W_SHIFT{1'b0}}});
    wire signed [ACC_BITS-1:0] product = $signed(w_q) * $signed(x_q);
    wire signed [ACC_BITS-1:0] term = (ANALOG != 0) ? product <<< P_SHIFT : w_aligned;
    wire signed [ACC_BITS-1:0] b_aligned = $signed({{(ACC_BITS - B_BITS - B_SHIFT){b_q[B_BITS-1]}}, b_q, {B_SHIFT{1'b0}}});

    wire signed [MEMBRANE_BITS-1:0] v_next;
    wire fired;
    /* verilator lint_off PINCONNECTEMPTY */
    snn_if_neuron #(
        .MEMBRANE_BITS(MEMBRANE_BITS), .ACC_BITS(ACC_BITS), .THETA_BITS(THETA_BITS),
        .SATURATE(SATURATE), .FIRES(FIRES)
    ) neuron (
        .v_in(v_q), .current(i_q), .theta(THETA), .v_out(v_next), .spike(fired), .overflow()
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // One read port per memory (block RAM): the readout shares the
    // membrane's port with the update phase, used only while idle.
    assign v_read_data = v_q;

    wire [OUT_BITS-1:0] u_addr = u[OUT_BITS-1:0];
    localparam [31:0] N_OUT32 = N_OUT;
    localparam [31:0] N_LAST32 = N_OUT - 1;
    localparam [OUT_BITS:0] U_END = N_OUT32[OUT_BITS:0];
    localparam [OUT_BITS:0] U_LAST = N_LAST32[OUT_BITS:0];
    localparam [W_ADDR_BITS-1:0] ROW_STRIDE = N_OUT32[W_ADDR_BITS-1:0];
    wire last = (u == U_LAST);

    initial begin
        state = IDLE;
        done = 1'b0;
        push = 1'b0;
    end

    always @(posedge clk) begin
        push <= 1'b0;
        w_q <= weights[row + {{(W_ADDR_BITS - OUT_BITS){1'b0}}, u_addr}];
        b_q <= biases[u_addr];
        i_q <= current[u_addr];
        v_q <= membrane[state == IDLE ? v_read_addr : u_addr];
        p_addr <= u_addr;
        if (init) begin
            state <= INIT;
            done <= 1'b0;
            u <= 0;
        end else if (load && ANALOG != 0) begin
            state <= BIAS;
            loading <= 1'b1;
            done <= 1'b0;
            u <= 0;
            valid <= 1'b0;
        end else if (start) begin
            // An analog layer's current is constant: only the update.
            state <= (ANALOG != 0) ? UPDATE : BIAS;
            loading <= 1'b0;
            done <= 1'b0;
            u <= 0;
            valid <= 1'b0;
        end else begin
            case (state)
                INIT: begin
                    membrane[u_addr] <= V0;
                    if (last) begin
                        state <= IDLE;
                        done <= 1'b1;
                    end
                    u <= u + 1'b1;
                end
                BIAS: begin
                    // b_q holds the bias of u_prev (read last cycle).
                    if (valid) current[p_addr] <= b_aligned;
                    valid <= !(u == U_END);
                    if (u == U_END) begin
                        state <= FETCH;
                        src_index <= 0;
                        valid <= 1'b0;
                        u <= 0;
                    end else begin
                        u <= u + 1'b1;
                    end
                end
                FETCH: begin
                    // Ask for the next source spike; its address arrives
                    // next cycle, then SCATTER walks its row.
                    if (src_index == src_count) begin
                        state <= loading ? FINISH : UPDATE;
                        u <= 0;
                        valid <= 1'b0;
                    end else if (valid) begin
                        row <= {{(W_ADDR_BITS - IN_BITS){1'b0}}, src_addr} * ROW_STRIDE;
                        x_q <= src_value;
                        state <= SCATTER;
                        u <= 0;
                        valid <= 1'b0;
                    end else begin
                        valid <= 1'b1;
                    end
                end
                SCATTER: begin
                    if (valid) current[p_addr] <= i_q + term;
                    valid <= !(u == U_END);
                    if (u == U_END) begin
                        state <= FETCH;
                        src_index <= src_index + 1'b1;
                        valid <= 1'b0;
                    end else begin
                        u <= u + 1'b1;
                    end
                end
                UPDATE: begin
                    if (valid) begin
                        membrane[p_addr] <= v_next;
                        if (fired) begin
                            push <= 1'b1;
                            push_addr <= p_addr;
                        end
                    end
                    valid <= !(u == U_END);
                    if (u == U_END) begin
                        state <= FINISH;
                    end else begin
                        u <= u + 1'b1;
                    end
                end
                FINISH: begin
                    // The last neuron's spike is on `push` this cycle; a
                    // step's spikes all come before `done`.
                    state <= IDLE;
                    done <= 1'b1;
                end
                default: ;
            endcase
        end
    end
endmodule
