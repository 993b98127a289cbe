//! `snncc build` and `snncc cosim` through the real binary on the MLP
//! fixture (a Keras model of dense layers): 0 mismatches against the
//! bit-accurate simulator under Icarus Verilog and Verilator, a corrupted
//! memory image is caught and named, the generated RTL is lint-clean under
//! `verilator --lint-only -Wall`, and layers the backend does not handle
//! (a residual add of three groups, or with no group chained) are refused,
//! all of them by name.

mod common;

use common::*;
use serde_json::Value;

fn build(out: &std::path::Path) {
    build_with(out, &[]);
}

/// `snncc build` of the MLP fixture (8-bit, T = 16) into `out`, then `extra`.
fn build_mlp(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "build".into(),
        fixture("mlp_flat.keras").into(),
        "--calib".into(),
        fixture("mlp_flat.inputs.npy").into(),
        "--bits".into(),
        "8".into(),
        "--timesteps".into(),
        "16".into(),
        "-o".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    snncc(args)
}

fn build_with(out: &std::path::Path, extra: &[&str]) {
    let res = build_mlp(out, extra);
    assert!(res.status.success(), "{}", stderr(&res));
    for f in [
        "manifest.yaml",
        "quant.yaml",
        "net/snn.yaml",
        "snn_mlp_flat.core",
        "rtl/snn_mlp_flat.v",
        "mem/h1_weights.mem",
        "tb/tb.v",
        "tb/expected.mem",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
}

fn cosim(out: &std::path::Path, simulator: &str) -> (std::process::Output, Value) {
    let res = snncc([
        "cosim".as_ref(),
        out.as_os_str(),
        "--data".as_ref(),
        fixture("mlp_flat.inputs.npy").as_os_str(),
        "--limit".as_ref(),
        "16".as_ref(),
        "--simulator".as_ref(),
        simulator.as_ref(),
        "--json".as_ref(),
    ]);
    let report = serde_json::from_str(&stdout(&res)).unwrap_or(Value::Null);
    (res, report)
}

#[test]
fn mlp_is_bit_exact_in_both_simulators_and_corruption_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    build(&out);
    for simulator in ["iverilog", "verilator"] {
        let (res, report) = cosim(&out, simulator);
        assert!(res.status.success(), "{simulator}: {}", stderr(&res));
        assert_eq!(report["images"], 16);
        assert_eq!(report["mismatches"], 0);
        assert_eq!(report["simulator"], simulator);
        assert!(report["cycles_per_image"].as_f64().unwrap() > 16.0);
    }
    // Waveforms on request.
    let res = snncc([
        "cosim".as_ref(),
        out.as_os_str(),
        "--data".as_ref(),
        fixture("mlp_flat.inputs.npy").as_os_str(),
        "--limit".as_ref(),
        "1".as_ref(),
        "--vcd".as_ref(),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let waves = std::fs::read_to_string(out.join("tb/waves.vcd")).unwrap();
    assert!(waves.contains("$enddefinitions") && waves.contains("o_value"));
    // Change the readout's first bias (added every step): the RTL must now
    // disagree.
    let mem = out.join("mem/out_bias.mem");
    let text = std::fs::read_to_string(&mem).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let i = lines.iter().position(|l| !l.starts_with("//")).unwrap();
    let width = lines[i].len();
    let changed = if lines[i].chars().all(|c| c == '0') {
        "1"
    } else {
        "0"
    };
    lines[i] = format!("{changed:0>width$}");
    std::fs::write(&mem, lines.join("\n") + "\n").unwrap();
    let (res, report) = cosim(&out, "iverilog");
    assert_fails_with(&res, &["first mismatch: input", "readout neuron"]);
    assert!(report["mismatches"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn generated_rtl_is_lint_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A negative initial potential (once printed as `22'd-45387`): V0 is a
    // two's complement literal of the membrane's width.
    build_with(&out, &["--calibrate", "none", "--h", "-0.5"]);
    let top = std::fs::read_to_string(out.join("rtl/snn_mlp_flat.v")).unwrap();
    assert!(
        !top.contains("'d-"),
        "a negative literal printed as unsigned"
    );
    assert!(top.contains(".V0("), "the engines take V0");
    let rtl = common::rtl_files(&out);
    // An undeclared net is an error in every file, not a silent 1-bit wire.
    for file in &rtl {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.contains("`default_nettype none"),
            "{} lacks `default_nettype none",
            file.display()
        );
    }
    run_tool(
        std::process::Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", "snn_mlp_flat"])
            .args(&rtl),
    );
}

#[test]
fn unsupported_layers_are_all_refused_by_name() {
    // resnet_mini's residual adds build (tests/cosim_residual.rs); edited
    // into what the engines cannot add, every offending layer is named:
    // b1_out's convolution reads stem_relu too (neither of its groups reads
    // the layer just before it), and b2_out gets a third synapse group.
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let res = snncc([
        "convert".as_ref(),
        fixture("resnet_mini.keras").as_os_str(),
        "--calib".as_ref(),
        fixture("resnet_mini.inputs.npy").as_os_str(),
        "-o".as_ref(),
        net.as_os_str(),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let yaml = net.join("snn.yaml");
    let mut text = std::fs::read_to_string(&yaml).unwrap();
    assert_eq!(text.matches("  - source: b1_relu1\n").count(), 1);
    text = text.replace("  - source: b1_relu1\n", "  - source: stem_relu\n");
    let b2_out = text.find("- name: b2_out").unwrap();
    let group = b2_out + text[b2_out..].find("  - source: b1_out\n").unwrap();
    let next = group + 4 + text[group + 4..].find("  - source: ").unwrap();
    let third = text[group..next].to_owned();
    text.insert_str(next, &third);
    std::fs::write(&yaml, text).unwrap();
    let res = snncc([
        "build".as_ref(),
        net.as_os_str(),
        "-o".as_ref(),
        dir.path().join("out").as_os_str(),
    ]);
    assert_fails_with(
        &res,
        &[
            "layer b1_out: the hardware chains layers: one of the two synapse groups (a residual add) must read the layer just before it",
            "layer b2_out: 3 synapse groups: the hardware engines add at most two",
        ],
    );
    let res = snncc([
        "build".as_ref(),
        fixture("mlp_flat.keras").as_os_str(),
        "--calib".as_ref(),
        fixture("mlp_flat.inputs.npy").as_os_str(),
        "--lanes".as_ref(),
        "3".as_ref(),
        "-o".as_ref(),
        dir.path().join("out").as_os_str(),
    ]);
    assert_fails_with(&res, &["--lanes 3", "power of two"]);
}

#[test]
fn synth_reports_resources_and_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    build(&out);
    let (res, _) = cosim(&out, "iverilog");
    assert!(res.status.success(), "{}", stderr(&res));
    let res = snncc([
        "synth".as_ref(),
        out.as_os_str(),
        "--target".as_ref(),
        "ice40".as_ref(),
        // At 8 lanes the MLP does not fit an UP5K, so there is no routed
        // clock: quote throughput at a stated one.
        "--clock-mhz".as_ref(),
        "100".as_ref(),
        "--json".as_ref(),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let r: Value = serde_json::from_str(&stdout(&res)).unwrap();
    for key in [
        "target",
        "luts",
        "ffs",
        "bram_blocks",
        "dsps",
        "cycles_per_image",
        "clock_mhz",
        "images_per_s",
    ] {
        assert!(!r[key].is_null(), "{key} missing: {r}");
    }
    assert_eq!(r["target"], "ice40");
    assert_eq!(r["clock_source"], "assumed (--clock-mhz)");
    assert_eq!(r["fit"]["fits"], false, "{r}");
    assert!(
        r["place_error"]
            .as_str()
            .is_some_and(|e| e.contains("ICESTORM_LC")),
        "{r}"
    );
    assert!(r["luts"].as_u64().unwrap() > 100, "{r}");
    // The weights are in block RAM, not LUTs.
    assert!(r["bram_blocks"].as_u64().unwrap() >= 4, "{r}");
    let expected = 100e6 / r["cycles_per_image"].as_f64().unwrap();
    assert!((r["images_per_s"].as_f64().unwrap() - expected).abs() < 1e-6 * expected);
}

#[test]
fn a_moved_build_folder_still_simulates_and_its_core_copies_the_memories() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("built");
    build(&built);
    // Memory paths are relative to the folder: moved, it still co-simulates.
    let moved = dir.path().join("elsewhere").join("moved");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&built, &moved).unwrap();
    let (res, report) = cosim(&moved, "iverilog");
    assert!(res.status.success(), "{}", stderr(&res));
    assert_eq!(report["mismatches"], 0, "{report}");
    let top = std::fs::read_to_string(moved.join("rtl/snn_mlp_flat.v")).unwrap();
    assert!(
        top.contains("\"mem/h1_weights.mem\""),
        "relative memory paths"
    );
    assert!(!top.contains(&dir.path().display().to_string()));
    // The FuseSoC core copies every image to the same relative place.
    let core: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(moved.join("snn_mlp_flat.core")).unwrap())
            .unwrap();
    let mem = core["filesets"]["mem"]["files"].as_array().unwrap();
    assert!(
        mem.iter()
            .any(|f| f["mem/h1_weights.mem"]["copyto"] == "mem/h1_weights.mem"),
        "{mem:?}"
    );
    assert_eq!(
        core["filesets"]["tb_mem"]["files"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn offchip_weights_and_the_block_limit_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let build = |extra: &[&str]| build_mlp(&out, extra);
    // A name that is no layer: the error lists the layers there are.
    let res = build(&["--offchip-weights", "h2,nope"]);
    assert_fails_with(
        &res,
        &["no layer named nope to keep weights off chip (the layers: h1, h2, out)"],
    );
    // The analog layer's weights cannot leave the chip.
    let res = build(&["--offchip-weights", "h1"]);
    assert_fails_with(
        &res,
        &["layer h1: weights off chip: only a dense or convolution layer"],
    );
    let res = build(&["--offchip-latency", "0"]);
    assert!(!res.status.success());
    // Off chip: the ports are in the manifest and the RTL, the weights are
    // still written for the external memory.
    let res = build(&["--offchip-weights", "h2", "--offchip-latency", "3"]);
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        stdout(&res).contains("off chip (w1_*, latency 3)"),
        "{}",
        stdout(&res)
    );
    let manifest: Value =
        serde_norway::from_str(&std::fs::read_to_string(out.join("manifest.yaml")).unwrap())
            .unwrap();
    assert_eq!(manifest["offchip_latency"], 3);
    assert_eq!(manifest["ports"]["w1_en"], 1);
    let top = std::fs::read_to_string(out.join("rtl/snn_mlp_flat.v")).unwrap();
    assert!(top.contains(".W_EXT(3)") && top.contains("input  wire [127:0] w1_data"));
    assert!(out.join("mem/h2_weights.mem").exists());
    // A limit no design meets: built, with a warning naming the memories.
    let res = build(&["--max-blocks", "0"]);
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        stderr(&res).contains("more than --max-blocks 0 even with every engine narrowed")
            && stderr(&res).contains("h1 weights"),
        "{}",
        stderr(&res)
    );
    assert!(stdout(&res).contains("block RAM: about 1 18-kbit blocks"));
    // The manifest lists every memory behind that total.
    let manifest: Value =
        serde_norway::from_str(&std::fs::read_to_string(out.join("manifest.yaml")).unwrap())
            .unwrap();
    let blocks = &manifest["block_ram"];
    assert_eq!(blocks["blocks"], 1);
    let memories = blocks["memories"].as_array().unwrap();
    let sum: u64 = memories.iter().map(|m| m["blocks"].as_u64().unwrap()).sum();
    assert_eq!(sum, 1);
    assert!(memories
        .iter()
        .any(|m| m["layer"] == "h1" && m["what"] == "weights" && m["blocks"] == 1));
}
