//! The bundled examples through the real binary: LeNet (conv, average
//! pooling, dense) and VGG (conv with batch norm folded, max gates, dense)
//! at 8-bit weights are built for Verilog and co-simulated under Icarus and
//! Verilator with `--trace`: every read-out value and every layer's spikes
//! at every step equal the bit-accurate simulator's, and the cycles stay
//! within 1.5x of the work bound (each beat as long as its slowest
//! engine's work, codegen::work_bound). A corrupted memory image is caught with the
//! first differing spike named. (The full target counts, 200 LeNet and 50
//! VGG digits at T = 64, run in benches/cosim_targets.sh; the README has
//! the numbers.)

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn build(model: &str, timesteps: &str, out: &Path, extra: &[&str]) {
    let res = snncc(
        [
            "build".as_ref(),
            example(&format!("models/{model}")).as_os_str(),
            "--calib".as_ref(),
            example("data/calib-images.npy").as_os_str(),
            "--bits".as_ref(),
            "8".as_ref(),
            "--timesteps".as_ref(),
            timesteps.as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ]
        .into_iter()
        .chain(extra.iter().map(|a| a.as_ref())),
    );
    assert!(res.status.success(), "{}", stderr(&res));
}

fn cosim(out: &Path, simulator: &str, limit: usize) -> (std::process::Output, Value) {
    cosim_traced(out, &example("data/test-images.npy"), simulator, limit)
}

fn assert_exact(out: &Path, simulator: &str, limit: usize) {
    assert_cosim_exact(out, &example("data/test-images.npy"), simulator, limit);
}

#[test]
fn lenet_is_bit_exact_spike_for_spike_in_both_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lenet");
    build("lenet.keras", "32", &out, &[]);
    assert_exact(&out, "iverilog", 4);
    assert_exact(&out, "verilator", 20);
    // Zero conv2's first bias word (sixteen channels): the first spike that
    // differs must be in conv2, and the run must fail.
    let mem = out.join("mem/conv2_bias.mem");
    let text = std::fs::read_to_string(&mem).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines.iter().position(|l| !l.starts_with("//")).unwrap();
    assert!(lines[i].chars().any(|c| c != '0'), "conv2 has a bias");
    lines[i] = "0".repeat(lines[i].len());
    std::fs::write(&mem, lines.join("\n") + "\n").unwrap();
    let (res, _) = cosim(&out, "iverilog", 1);
    assert_fails_with(&res, &["first", "layer conv2, step"]);
}

#[test]
fn vgg_is_bit_exact_spike_for_spike_in_both_simulators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vgg");
    // Built for an LFE5U-45F's 108 block RAMs: relu5's weights (45 blocks)
    // off chip, read from the testbench's model of a pipelined SRAM, and
    // the engines narrowed to fit, which makes relu1 replay the input
    // every step with its membranes in its banks.
    build(
        "vgg.keras",
        "16",
        &out,
        &["--offchip-weights", "relu5", "--max-blocks", "108"],
    );
    // The 28x28 and 14x14 spiking layers keep their membranes in their
    // banks (--state auto: fewer block RAMs), so the merged write-back on
    // block RAM banks is what the co-simulation checks; the potential
    // read-out never merges.
    let manifest: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(out.join("manifest.yaml")).unwrap())
            .unwrap();
    assert_eq!(manifest["state_word"], "auto");
    let merged: Vec<(&str, bool)> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["engine"] == "layer")
        .map(|l| {
            let name = l["name"].as_str().unwrap();
            (name, l["membrane_in_banks"].as_bool().unwrap())
        })
        .collect();
    for (name, in_banks) in &merged {
        let expected = matches!(*name, "relu1" | "relu2" | "relu3" | "relu4");
        assert_eq!(*in_banks, expected, "{name}: {merged:?}");
    }
    assert_eq!(manifest["offchip_weights"][0], "relu5");
    assert_eq!(manifest["replay_input"], true);
    assert!(manifest["ports"]["w6_data"].as_u64().is_some());
    assert_exact(&out, "iverilog", 2);
    assert_exact(&out, "verilator", 6);
    // The external memory's image is the one the testbench serves: zero
    // relu5's first weight words and the first differing spike is relu5's.
    let mem = out.join("mem/relu5_weights.mem");
    let text = std::fs::read_to_string(&mem).unwrap();
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("//") {
                l.to_string()
            } else {
                "0".repeat(l.len())
            }
        })
        .collect();
    std::fs::write(&mem, lines.join("\n") + "\n").unwrap();
    let (res, _) = cosim(&out, "iverilog", 1);
    assert_fails_with(&res, &["first", "layer relu5, step"]);
}
