//! The hand-written dense layer engine (hw/snn_dense_layer.v) against the
//! arithmetic of docs/fixed-point.md computed in Rust with `quant::arith`:
//! a random layer (13 inputs, 7 neurons, shifted weight and bias formats, a
//! narrow membrane so overflow happens) driven by random source spike
//! lists for 12 steps; every output spike of every step and the final
//! membranes must agree, for saturation, wrap-around, the readout and an
//! analog-input layer (signed 9-bit inputs, products shifted), under Icarus
//! Verilog and Verilator.

mod common;

use std::fmt::Write as _;

use common::{root, simulate_both};
use snncc::codegen::render_mem;
use snncc::quant::arith::{fit, if_step, readout_step};
use snncc::quant::Overflow;

const N_IN: usize = 13;
const N_OUT: usize = 7;
const STEPS: usize = 12;
const W_BITS: u32 = 6;
const W_SHIFT: u32 = 2;
const B_BITS: u32 = 5;
const B_SHIFT: u32 = 3;
const ACC_BITS: u32 = 14;
const MEMBRANE_BITS: u32 = 10;
const THETA: i64 = 150;
const V0: i64 = 75;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
    fn signed(&mut self, bits: u32) -> i64 {
        fit(self.next(1 << bits) as i128, bits, Overflow::Wrap).0
    }
}

/// Analog inputs: 9-bit values, a product w * x is shifted left by 1.
const X_BITS: u32 = 9;
const P_SHIFT: u32 = 1;

fn case(overflow: Overflow, fires: bool, analog: bool, seed: u64) {
    let mut rng = Lcg(seed);
    let weights: Vec<i64> = (0..N_IN * N_OUT).map(|_| rng.signed(W_BITS)).collect();
    let bias: Vec<i64> = (0..N_OUT).map(|_| rng.signed(B_BITS)).collect();
    let sources: Vec<Vec<usize>> = (0..STEPS)
        .map(|_| (0..N_IN).filter(|_| rng.next(3) == 0).collect())
        .collect();
    let x: Vec<i64> = (0..N_IN)
        .map(|_| {
            if rng.next(3) == 0 {
                0
            } else {
                rng.signed(X_BITS)
            }
        })
        .collect();
    let acc_bits = if analog { 20 } else { ACC_BITS };
    // The specification, in Rust.
    let mut v = vec![if fires { V0 } else { 0 }; N_OUT];
    let mut fired: Vec<Vec<usize>> = Vec::new();
    let mut events = 0;
    for spikes in &sources {
        let mut out = Vec::new();
        for u in 0..N_OUT {
            let mut i = bias[u] << B_SHIFT;
            if analog {
                // The constant current of the analog layer (§4.4).
                for (s, &xs) in x.iter().enumerate() {
                    i += (weights[s * N_OUT + u] * xs) << P_SHIFT;
                }
            } else {
                for &s in spikes {
                    i += weights[s * N_OUT + u] << W_SHIFT;
                }
            }
            let step = if fires {
                if_step(v[u], i, THETA, MEMBRANE_BITS, overflow)
            } else {
                readout_step(v[u], i, MEMBRANE_BITS, overflow)
            };
            v[u] = step.v;
            events += u32::from(step.overflow);
            if step.spike {
                out.push(u);
            }
        }
        fired.push(out);
    }
    assert!(
        fired.iter().map(Vec::len).sum::<usize>() > 5 || !fires,
        "the case must fire"
    );
    assert!(events > 0, "the case must overflow the membrane");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: String| {
        let path = d.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let w_mem = write(
        "w.mem",
        render_mem("fc weights", "index = input * 7 + unit", &weights, W_BITS),
    );
    let b_mem = write(
        "b.mem",
        render_mem("fc bias", "index = unit", &bias, B_BITS),
    );
    let flat = |lists: &[Vec<usize>]| -> (Vec<i64>, Vec<i64>, Vec<i64>) {
        let (mut all, mut start, mut len) = (Vec::new(), Vec::new(), Vec::new());
        for l in lists {
            start.push(all.len() as i64);
            len.push(l.len() as i64);
            all.extend(l.iter().map(|&x| x as i64));
        }
        all.push(0);
        (all, start, len)
    };
    let (src, src_start, src_len) = flat(&sources);
    let (exp, exp_start, exp_len) = flat(&fired);
    let mut mems = String::new();
    for (name, values) in [
        ("src", &src),
        ("src_start", &src_start),
        ("src_len", &src_len),
        ("exp", &exp),
        ("exp_start", &exp_start),
        ("exp_len", &exp_len),
        ("exp_v", &v),
        ("x", &x),
    ] {
        let path = write(
            &format!("{name}.mem"),
            render_mem(name, "test vectors", values, 16),
        );
        writeln!(
            mems,
            "    reg [15:0] {name} [0:{}];\n    initial $readmemh(\"{}\", {name});",
            values.len() - 1,
            path.display()
        )
        .unwrap();
    }
    let tb = format!(
        r#"`timescale 1ns/1ps
module tb;
{mems}
    reg clk = 0;
    reg init = 0, start = 0, load = 0;
    wire done;
    reg [3:0] step_src_count;
    wire [3:0] src_index;
    reg [3:0] src_addr;
    reg signed [{x1}:0] src_value;
    reg [15:0] base;
    wire push;
    wire [2:0] push_addr;
    reg [2:0] v_read_addr = 0;
    wire signed [9:0] v_read_data;
    integer t, k, got, errors = 0;
    always @(posedge clk) begin
        src_addr <= {analog} ? src_index : src[base + src_index][3:0];
        src_value <= x[src_index][{x1}:0];
    end
    always @(posedge clk) if (push) begin
        if (got >= exp_len[t] || push_addr !== exp[exp_start[t] + got][2:0]) begin
            $display("step %0d: unexpected spike of neuron %0d", t + 1, push_addr);
            errors = errors + 1;
        end
        got = got + 1;
    end
    snn_dense_layer #(
        .N_IN({n_in}), .N_OUT({n_out}), .IN_BITS(4), .OUT_BITS(3), .W_ADDR_BITS(7), .COUNT_BITS(4),
        .W_BITS({w_bits}), .W_SHIFT({w_shift}), .B_BITS({b_bits}), .B_SHIFT({b_shift}),
        .ACC_BITS({acc}), .MEMBRANE_BITS({m}), .THETA_BITS({m}), .THETA({theta}), .V0({v0}),
        .SATURATE({sat}), .FIRES({fires}), .ANALOG({analog}), .X_BITS({x_bits}), .P_SHIFT({p_shift}),
        .W_INIT("{w_mem}"), .B_INIT("{b_mem}")
    ) dut (
        .clk(clk), .init(init), .start(start), .load(load), .done(done),
        .src_count(step_src_count), .src_index(src_index), .src_addr(src_addr), .src_value(src_value),
        .push(push), .push_addr(push_addr),
        .v_read_addr(v_read_addr), .v_read_data(v_read_data));
    always #5 clk = ~clk;
    initial begin
        @(negedge clk) init = 1;
        @(negedge clk) init = 0;
        wait (done);
        if ({analog}) begin
            // The analog layer's current, once per image: all inputs.
            step_src_count = {n_in};
            @(negedge clk) load = 1;
            @(negedge clk) load = 0;
            @(negedge clk);
            wait (done);
        end
        for (t = 0; t < {steps}; t = t + 1) begin
            @(negedge clk);
            base = src_start[t];
            if (!{analog}) step_src_count = src_len[t][3:0];
            got = 0;
            start = 1;
            @(negedge clk) start = 0;
            @(negedge clk);
            wait (done);
            @(negedge clk);
            if (got != exp_len[t]) begin
                $display("step %0d: %0d spikes, expected %0d", t + 1, got, exp_len[t]);
                errors = errors + 1;
            end
        end
        for (k = 0; k < {n_out}; k = k + 1) begin
            v_read_addr = k[2:0];
            @(negedge clk);
            if (v_read_data !== exp_v[k][9:0]) begin
                $display("V[%0d] = %0d, expected %0d", k, v_read_data, $signed(exp_v[k][9:0]));
                errors = errors + 1;
            end
        end
        if (errors != 0) $fatal(1, "%0d errors", errors);
        $display("DENSE PASS");
        $finish;
    end
endmodule
"#,
        n_in = N_IN,
        n_out = N_OUT,
        w_bits = W_BITS,
        w_shift = W_SHIFT,
        b_bits = B_BITS,
        b_shift = B_SHIFT,
        acc = acc_bits,
        analog = u8::from(analog),
        x_bits = X_BITS,
        x1 = X_BITS - 1,
        p_shift = P_SHIFT,
        m = MEMBRANE_BITS,
        theta = THETA,
        v0 = if fires { V0 } else { 0 },
        sat = u8::from(overflow == Overflow::Saturate),
        fires = u8::from(fires),
        steps = STEPS,
        w_mem = w_mem.display(),
        b_mem = b_mem.display(),
    );
    let tb_path = write("tb.v", tb);
    let hw = root().join("hw");
    simulate_both(
        d,
        &tb_path,
        &[hw.join("snn_dense_layer.v"), hw.join("snn_if_neuron.v")],
        "DENSE PASS",
    );
}

#[test]
fn dense_layer_matches_the_specification_with_saturation() {
    case(Overflow::Saturate, true, false, 7);
}

#[test]
fn dense_layer_matches_the_specification_with_wrap_around() {
    case(Overflow::Wrap, true, false, 11);
}

#[test]
fn dense_readout_matches_the_specification() {
    case(Overflow::Saturate, false, false, 5);
}

#[test]
fn analog_input_layer_matches_the_specification() {
    case(Overflow::Saturate, true, true, 3);
    case(Overflow::Wrap, true, true, 13);
}
