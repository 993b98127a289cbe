//! `snncc simulate` on the bundled examples meets the accuracy targets of
//! ECC conversion on the 2,000 committed test digits with the default
//! settings (chosen by the worst case over the model zoo, benches/zoo), the
//! h = 0.5 residual offset beats the classic h = 0 at short simulation
//! lengths, and per-channel scales rescue a residual network of the zoo.

mod common;

use common::*;
use serde_json::Value;

fn simulate(model: &str, timesteps: &str, extra: &[&str]) -> Value {
    simulate_json(model, timesteps, extra)
}

/// Accuracy loss (percentage points) of the SNN against the CNN per T.
fn losses(report: &Value) -> Vec<(u64, f64)> {
    let cnn = report["cnn_accuracy"].as_f64().unwrap();
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["timesteps"].as_u64().unwrap(),
                100.0 * (cnn - r["accuracy"].as_f64().unwrap()),
            )
        })
        .collect()
}

/// The targets: loss <= 0.3 pp at T = 32 and <= 0.1 at T = 256; at T = 64
/// <= `t64` (0.1, the target, unless a known miss is pinned).
fn assert_targets(model: &str, extra: &[&str], t64: f64) {
    let report = simulate(model, "32,64,256", extra);
    assert_eq!(report["n"], 2000);
    for (t, loss) in losses(&report) {
        let bound = match t {
            32 => 0.3,
            64 => t64,
            _ => 0.1,
        };
        // Losses are multiples of 0.05 pp on 2,000 digits; the epsilon only
        // absorbs floating-point noise in the subtraction.
        assert!(
            loss <= bound + 1e-9,
            "{model} T={t}: loss {loss:.2} pp > {bound}"
        );
    }
    for run in report["runs"].as_array().unwrap() {
        assert!(run["synops_per_image"].as_f64().unwrap() > 0.0);
        assert!(run["spikes_per_image"].as_f64().unwrap() > 0.0);
        assert!(run["energy_ratio"].as_f64().unwrap() > 0.0);
    }
    let layers = report["layers"].as_array().unwrap();
    assert!(layers.iter().any(|l| l["kind"] == "readout"));
    for l in layers.iter().filter(|l| l["kind"] == "if") {
        let corr = l["correlation"].as_f64().unwrap();
        assert!(corr > 0.9, "{model} {}: correlation {corr}", l["name"]);
    }
}

#[test]
fn lenet_meets_the_accuracy_targets() {
    assert_targets("lenet.keras", &[], 0.1);
}

/// At the defaults (per-channel initial potentials, the calibration length
/// chosen per network) and with one potential per layer.
#[test]
fn vgg_meets_the_accuracy_targets() {
    assert_targets("vgg.keras", &[], 0.1);
    assert_targets("vgg.keras", &["--calibrate", "h"], 0.1);
}

/// The calibration length chosen per network (`--calibrate-timesteps
/// auto`) against the former fixed 32 on the zoo's identity ResNet, which
/// calibrated over 32 steps fires too late for T = 16 (400 digits, one is
/// 0.25 pp; measured: 5.75 pp fixed, 0.75 chosen, which is 16).
#[test]
fn choosing_the_calibration_length_brings_a_residual_network_in_at_t16() {
    let model = "../../benches/zoo/models/resnet_id.k3.h5";
    let fixed = losses(&simulate(
        model,
        "16",
        &["--limit", "400", "--calibrate-timesteps", "32"],
    ));
    let report = simulate(model, "16", &["--limit", "400"]);
    let chosen = losses(&report);
    assert!(fixed[0].1 > 2.5, "calibrated over 32 steps: {fixed:?}");
    assert!(chosen[0].1 <= 1.0, "length chosen: {chosen:?}");
    let changes = report["conversion"]["changes"].to_string();
    assert!(
        changes.contains("chose calibration length 16"),
        "conversion log: {changes}"
    );
}

/// Per-channel scales against the default per-layer ones on a residual
/// network of the zoo (benches/zoo), which per-layer scales leave near
/// chance at T = 32: its narrow channels fire too rarely to converge.
#[test]
fn per_channel_scales_convert_a_residual_network_of_the_zoo() {
    let model = "../../benches/zoo/models/resnet_id.k3.h5";
    let uniform = ["--limit", "400", "--calibrate", "none"];
    let per_channel = losses(&simulate(
        model,
        "32,64",
        &[&uniform[..], &["--scales", "channel"]].concat(),
    ));
    let per_layer = losses(&simulate(model, "32", &uniform));
    assert!(per_layer[0].1 > 40.0, "per-layer scales: {per_layer:?}");
    assert!(
        per_channel[0].1 < 15.0 && per_channel[1].1 < 3.0,
        "per-channel scales: {per_channel:?}"
    );
}

/// Calibrating the initial potentials (per channel, the default) against ECC's
/// uniform h on a residual network of the zoo whose transient over-fires.
#[test]
fn calibrated_initial_potentials_speed_up_a_residual_network_of_the_zoo() {
    let model = "../../benches/zoo/models/resnet_proj.tf2.h5";
    let calibrated = losses(&simulate(model, "64", &["--limit", "400"]));
    let uniform = losses(&simulate(
        model,
        "64",
        &["--limit", "400", "--calibrate", "none"],
    ));
    assert!(uniform[0].1 > 20.0, "uniform h: {uniform:?}");
    assert!(calibrated[0].1 < 6.0, "calibrated: {calibrated:?}");
}

/// One initial potential per channel against one per layer on the same
/// residual network at T = 32, in float and in 8-bit fixed point (400
/// digits: one digit is 0.25 pp). Measured: per layer 28.5 pp, per channel
/// 0.75 (float) and 0.00 (8-bit).
#[test]
fn per_channel_initial_potentials_bring_a_residual_network_to_its_cnn_at_t32() {
    let model = "../../benches/zoo/models/resnet_proj.tf2.h5";
    let per_layer = losses(&simulate(
        model,
        "32",
        &["--limit", "400", "--calibrate", "h"],
    ));
    let per_channel = losses(&simulate(model, "32", &["--limit", "400"]));
    let fixed = losses(&simulate(model, "32", &["--limit", "400", "--bits", "8"]));
    assert!(per_layer[0].1 > 15.0, "per layer: {per_layer:?}");
    assert!(per_channel[0].1 <= 1.5, "per channel: {per_channel:?}");
    assert!(fixed[0].1 <= 1.5, "per channel, 8-bit: {fixed:?}");
}

/// h = 0.5 against the classic h = 0: clearly better at T = 16 on both
/// examples (LeNet: 0.00 against 3.10 pp), and at T = 32 and 64 within
/// 0.3 pp of it (on the VGG example h = 0 is 5 digits better at T = 32;
/// over the zoo's worst case h = 0.5 wins at every T: benches/zoo).
#[test]
fn half_threshold_offset_beats_the_classic_conversion_at_short_t() {
    for model in ["lenet.keras", "vgg.keras"] {
        let uniform = ["--calibrate", "none"];
        let with = simulate(model, "16,32,64", &[&uniform[..], &["--h", "0.5"]].concat());
        let without = simulate(model, "16,32,64", &[&uniform[..], &["--h", "0"]].concat());
        for (a, b) in losses(&with).iter().zip(losses(&without)) {
            let margin = if a.0 == 16 { 0.0 } else { 0.3 + 1e-9 };
            assert!(
                a.1 < b.1 + margin,
                "{model} T={}: h=0.5 loss {:.2} vs h=0 {:.2}",
                a.0,
                a.1,
                b.1
            );
        }
    }
}

#[test]
fn simulate_rejects_mismatched_labels() {
    let out = snncc([
        "simulate".as_ref(),
        example("models/lenet.keras").as_os_str(),
        "--calib".as_ref(),
        example("data/calib-images.npy").as_os_str(),
        "--data".as_ref(),
        example("data/calib-images.npy").as_os_str(),
        "--labels".as_ref(),
        example("data/test-labels.npy").as_os_str(),
    ]);
    assert_fails_with(&out, &["2000 labels", "500 images"]);
}

#[test]
fn spike_count_readout_reaches_the_cnn_on_long_runs() {
    let report = simulate(
        "lenet.keras",
        "256",
        &["--readout", "spikes", "--limit", "500"],
    );
    let (_, loss) = losses(&report)[0];
    assert!(
        loss <= 0.5,
        "spike-count readout loses {loss:.2} pp at T=256"
    );
    let layers = report["layers"].as_array().unwrap();
    let out = layers.last().unwrap();
    assert_eq!(out["kind"], "count_readout");
    assert!(out["spikes_per_image"].as_f64().unwrap() > 0.0);
}

/// Inputs outside [0, 1] (here images x 4, calibration x 4): the analog
/// input drives the first layer as it is, so the SNN still tracks the CNN
/// evaluated on the same inputs (a scale bug once cost 15 pp here).
#[test]
fn inputs_beyond_unit_range_convert_as_well() {
    let dir = tempfile::tempdir().unwrap();
    let scaled = |name: &str, n: usize| {
        let x = snncc::data::read_images(&example(&format!("data/{name}"))).unwrap();
        let x = x.slice(ndarray::s![..n, .., .., ..]).mapv(|v| v * 4.0);
        let path = dir.path().join(name);
        snncc::data::write_npy_f32(&path, x.view()).unwrap();
        path
    };
    let (calib, data) = (
        scaled("calib-images.npy", 200),
        scaled("test-images.npy", 2000),
    );
    let label_path = example("data/test-labels.npy");
    let out = snncc([
        "simulate".as_ref(),
        example("models/lenet.keras").as_os_str(),
        "--calib".as_ref(),
        calib.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--labels".as_ref(),
        label_path.as_os_str(),
        "--timesteps".as_ref(),
        "64".as_ref(),
        "--limit".as_ref(),
        "400".as_ref(),
        "--json".as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let (_, loss) = losses(&report)[0];
    assert!(loss <= 1.0, "loss {loss:.2} pp on x4 inputs");
}
