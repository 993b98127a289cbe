//! Residual adds in hardware through the real binary: the `resnet_mini`
//! fixture (a Functional model whose two blocks end in `Add`: an identity
//! shortcut from two layers back, and a strided 1x1 projection) is built
//! for Verilog and co-simulated with `--trace` under Icarus and Verilator:
//! every read-out value and every layer's spikes at every step equal the
//! bit-accurate simulator's, and the cycles stay within 1.5x of the work
//! bound (codegen::work_bound, which counts both synapse groups). Also with
//! the early cutoff, where images stop at different steps. A corrupted
//! shortcut weight is caught at the residual layer.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn build(out: &Path, extra: &[&str]) {
    let mut args: Vec<std::ffi::OsString> = vec![
        "build".into(),
        fixture("resnet_mini.keras").into(),
        "--calib".into(),
        fixture("resnet_mini.inputs.npy").into(),
        "--target".into(),
        "verilog".into(),
        "--bits".into(),
        "8".into(),
        "-o".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    let res = snncc(args);
    assert!(res.status.success(), "{}", stderr(&res));
    // Both residual layers are built as such, the projection's list
    // holding the steps between its layer and the add.
    let text = stdout(&res);
    for needle in ["residual add of stem_relu", "residual add of b1_out"] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }
}

fn cosim(out: &Path, simulator: &str, limit: usize) -> (std::process::Output, Value) {
    cosim_traced(out, &fixture("resnet_mini.inputs.npy"), simulator, limit)
}

fn assert_exact(out: &Path, simulator: &str, limit: usize) -> Value {
    assert_cosim_exact(out, &fixture("resnet_mini.inputs.npy"), simulator, limit)
}

#[test]
fn resnet_mini_is_bit_exact_spike_for_spike_in_both_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("resnet");
    build(&out, &["--timesteps", "16"]);
    assert_exact(&out, "iverilog", 2);
    assert_exact(&out, "verilator", 8);
    // Zero the first weight word of b1_out's shortcut (its identity
    // weights follow the 3x3 convolution's 9 x 8 words): the first spike
    // that differs must be in b1_out.
    let mem = out.join("mem/b1_out_weights.mem");
    let text = std::fs::read_to_string(&mem).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let first = lines.iter().position(|l| !l.starts_with("//")).unwrap();
    let i = first + 9 * 8;
    assert!(
        lines[i].chars().any(|c| c != '0'),
        "the identity has a weight"
    );
    lines[i] = "0".repeat(lines[i].len());
    std::fs::write(&mem, lines.join("\n") + "\n").unwrap();
    let (res, _) = cosim(&out, "verilator", 1);
    assert_fails_with(&res, &["first spike mismatch", "layer b1_out, step"]);
}

#[test]
fn resnet_mini_with_the_early_cutoff_stops_where_the_bit_accurate_simulator_does() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("resnet");
    build(&out, &["--timesteps", "32", "--cutoff", "auto"]);
    let r = assert_exact(&out, "verilator", 8);
    let steps = r["mean_timesteps"].as_f64().unwrap();
    assert!(steps < 32.0, "some images stop early: {r}");
}
