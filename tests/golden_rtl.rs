//! Golden files pin what the Verilog backend emits (the generated top
//! level, a memory image), so any change to the emitted RTL is a decision:
//! rerun with `UPDATE_GOLDEN=1 cargo test --release --test golden_rtl` and
//! review the diff. The network is built in Rust from a seeded generator
//! (not converted from Keras, whose float inference may round differently
//! on other CPUs), so the files are the same on every machine; the output
//! folder's absolute path (in `$readmemh` paths) is replaced by `<OUT>`.

mod common;

use common::{cnn, mlp, root, Lcg};
use snncc::codegen::{design, write_design, DesignOptions, StateWord};
use snncc::quant::{choose_formats, quantize_model, QuantOptions};

/// Render `model` at 8-bit weights, T = 32, with at most `lanes` lanes and
/// `slots` taps per cycle and compare `files` with `tests/golden/<name>/`.
fn check(name: &str, model: &snncc::snn::SnnModel, (lanes, slots): (usize, usize), files: &[&str]) {
    let q = quantize_model(
        model,
        &choose_formats(model, &QuantOptions::with_bits(8, 32)).unwrap(),
    )
    .unwrap()
    .model;
    let options = DesignOptions {
        timesteps: 32,
        lanes,
        slots,
        layer_lanes: None,
        layer_serial: None,
        layer_slots: None,
        cutoff: None,
        state: StateWord::Auto,
        offchip: Default::default(),
        replay_input: false,
    };
    let d = design(&q, &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_design(&d, dir.path()).unwrap();
    let abs = std::fs::canonicalize(dir.path())
        .unwrap()
        .display()
        .to_string();
    let golden = root().join("tests/golden").join(name);
    std::fs::create_dir_all(&golden).unwrap();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for file in files {
        let text = std::fs::read_to_string(dir.path().join(file))
            .unwrap()
            .replace(&abs, "<OUT>");
        let path = golden.join(file.replace('/', "__"));
        if update {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
        if let Some((i, (got, exp))) = text
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            panic!(
                "{file} differs from {} at line {}:\n  now:    {got}\n  golden: {exp}\n(UPDATE_GOLDEN=1 accepts the change)",
                path.display(),
                i + 1
            );
        }
        assert_eq!(
            text.lines().count(),
            want.lines().count(),
            "{file}: length changed"
        );
    }
}

#[test]
fn mlp_design_matches_the_golden_files() {
    check(
        "mlp",
        &mlp(&mut Lcg(42)),
        (1, 1),
        &["rtl/snn_mlp.v", "mem/fc2_weights.mem", "mem/fc1_bias.mem"],
    );
}

#[test]
fn cnn_design_matches_the_golden_files() {
    // Seed 15 draws a max gate and a spike-count readout; four lanes,
    // up to three taps per cycle.
    check(
        "cnn",
        &cnn(&mut Lcg(15)),
        (4, 3),
        &[
            "rtl/snn_cnn.v",
            "mem/conv1_weights.mem",
            "mem/conv1_taps.mem",
            "mem/conv1_offsets.mem",
            "mem/conv2_bias.mem",
            "mem/pool1_taps.mem",
        ],
    );
}
