//! `snncc convert` writes a network directory that simulates exactly like
//! converting on the fly, and edited directories are checked when read.

mod common;

use common::*;
use serde_json::Value;

fn convert_lenet(dir: &std::path::Path) {
    let out = snncc([
        "convert".as_ref(),
        example("models/lenet.keras").as_os_str(),
        "--calib".as_ref(),
        example("data/calib-images.npy").as_os_str(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn simulate_json(model: &std::path::Path, calib: bool) -> Value {
    let mut args: Vec<std::ffi::OsString> = vec![
        "simulate".into(),
        model.into(),
        "--data".into(),
        example("data/test-images.npy").into(),
        "--labels".into(),
        example("data/test-labels.npy").into(),
        "--timesteps".into(),
        "16,48".into(),
        "--limit".into(),
        "300".into(),
        "--json".into(),
    ];
    if calib {
        args.extend(["--calib".into(), example("data/calib-images.npy").into()]);
    }
    let out = snncc(args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn converted_directory_simulates_like_the_keras_model() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lenet-snn");
    convert_lenet(&dir);
    let yaml = std::fs::read_to_string(dir.join("snn.yaml")).unwrap();
    for needle in [
        "format: snncc-snn 1",
        "kind: integrate_and_fire",
        "kind: readout",
        "lambda:",
        "conv2.in0.npy",
    ] {
        assert!(yaml.contains(needle), "snn.yaml lacks {needle}");
    }
    let from_dir = simulate_json(&dir, false);
    let from_keras = simulate_json(&example("models/lenet.keras"), true);
    assert_eq!(from_dir["runs"].as_array().unwrap().len(), 2);
    for (a, b) in from_dir["runs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(from_keras["runs"].as_array().unwrap())
    {
        assert_eq!(a["accuracy"], b["accuracy"]);
        assert_eq!(a["spikes_per_image"], b["spikes_per_image"]);
        assert_eq!(a["synops_per_image"], b["synops_per_image"]);
    }
    assert!(from_dir["cnn_accuracy"].is_null(), "a directory has no CNN");
}

#[test]
fn edited_directories_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    convert_lenet(&dir);
    let yaml = std::fs::read_to_string(dir.join("snn.yaml")).unwrap();
    let run = |text: &str| {
        std::fs::write(dir.join("snn.yaml"), text).unwrap();
        snncc([
            "simulate".as_ref(),
            dir.as_os_str(),
            "--data".as_ref(),
            example("data/calib-images.npy").as_os_str(),
            "--labels".as_ref(),
            example("data/calib-images.npy").as_os_str(),
        ])
    };
    let out = run(&yaml.replacen("cnn_macs:", "surprise: 1\ncnn_macs:", 1));
    assert_fails_with(&out, &["snn.yaml", "surprise"]);
    let out = run(&yaml.replacen("threshold: 1.0", "threshold: -1.0", 1));
    assert_fails_with(&out, &["snn.yaml", "layer 'conv1'", "threshold"]);
    let out = run(&yaml.replacen("weights: conv2.in0.npy", "weights: conv1.in0.npy", 1));
    assert_fails_with(&out, &["layer 'conv2'", "conv synapses do not fit"]);
    std::fs::write(dir.join("snn.yaml"), &yaml).unwrap();
    std::fs::remove_file(dir.join("fc1.in0.npy")).unwrap();
    let out = run(&yaml);
    assert_fails_with(&out, &["fc1.in0.npy"]);
}

#[test]
fn simulate_needs_calibration_for_a_keras_model() {
    let out = snncc([
        "simulate".as_ref(),
        example("models/lenet.keras").as_os_str(),
        "--data".as_ref(),
        example("data/test-images.npy").as_os_str(),
        "--labels".as_ref(),
        example("data/test-labels.npy").as_os_str(),
    ]);
    assert_fails_with(&out, &["--calib"]);
}

#[test]
fn eval_and_inspect_accept_a_converted_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    convert_lenet(&dir);
    let eval = |model: &std::path::Path| -> f64 {
        let out = snncc([
            "eval".as_ref(),
            model.as_os_str(),
            "--data".as_ref(),
            example("data/test-images.npy").as_os_str(),
            "--labels".as_ref(),
            example("data/test-labels.npy").as_os_str(),
            "--json".as_ref(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["accuracy"].as_f64().unwrap()
    };
    // The rate limit differs from the CNN only where normalisation clips
    // activations above the 99.99th percentile.
    let (rate_limit, cnn) = (eval(&dir), eval(&example("models/lenet.keras")));
    assert!(
        (rate_limit - cnn).abs() <= 0.005,
        "rate limit {rate_limit} vs CNN {cnn}"
    );
    let out = snncc(["inspect".as_ref(), dir.as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for needle in ["integrate_and_fire", "readout", "conv1:avgpool", "24x24x6"] {
        assert!(table.contains(needle), "missing {needle}:\n{table}");
    }
}

#[test]
fn burst_spikes_keep_the_rate_limit_unclipped_and_the_hardware_emits_them() {
    // A zoo model whose largest activations the p99.9 scales clip (its
    // rate limit at one spike a step answers 5 of 2,000 digits unlike
    // the CNN), converted with the default settings: bursts (`auto`)
    // after `BURST_AFTER` steps.
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/zoo/models/resnet_id.k3.h5");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let out = snncc([
        "convert".as_ref(),
        model.as_os_str(),
        "--calib".as_ref(),
        example("data/calib-images.npy").as_os_str(),
        "--calibrate".as_ref(),
        "none".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("burst spikes"), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(dir.join("snn.yaml")).unwrap();
    assert!(yaml.contains("burst: "), "no burst in snn.yaml");
    let after = format!("burst_after: {}", snncc::ecc::BURST_AFTER);
    assert!(yaml.contains(&after), "no {after} in snn.yaml");
    // The rate limit's answers are the CNN's on every test digit.
    let answers = |model: &std::path::Path, name: &str| -> Vec<u8> {
        let npy = tmp.path().join(name);
        let out = snncc([
            "eval".as_ref(),
            model.as_os_str(),
            "--data".as_ref(),
            example("data/test-images.npy").as_os_str(),
            "--dump-outputs".as_ref(),
            npy.as_os_str(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let rows = snncc::data::read_npy_f32(&npy).unwrap();
        rows.outer_iter()
            .map(|r| {
                let v: Vec<f32> = r.iter().copied().collect();
                snncc::reference::argmax(&v) as u8
            })
            .collect()
    };
    assert_eq!(answers(&dir, "snn.npy"), answers(&model, "cnn.npy"));
    let build = |net: &std::path::Path, rtl: &std::path::Path, timesteps: &str| {
        let out = snncc([
            "build".as_ref(),
            net.as_os_str(),
            "--calib".as_ref(),
            example("data/calib-images.npy").as_os_str(),
            "--timesteps".as_ref(),
            timesteps.as_ref(),
            "--target".as_ref(),
            "verilog".as_ref(),
            "-o".as_ref(),
            rtl.as_os_str(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        std::fs::read_to_string(rtl.join("manifest.yaml")).unwrap()
    };
    // A design for runs that end before bursts begin has no burst logic.
    let manifest = build(&dir, &tmp.path().join("rtl16"), "16");
    assert!(
        !manifest.contains("burst"),
        "bursts in a 16-step design:\n{manifest}"
    );
    // With bursts from step 5 on (snn.yaml edited) the hardware emits them
    // (one spike-list entry per lane mask) after counting four steps at
    // one spike, spike for spike with the bit-accurate simulator: the max
    // gate counts the repeated entries of a group one by one.
    let early = tmp.path().join("early");
    std::fs::create_dir(&early).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, early.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        early.join("snn.yaml"),
        yaml.replace(&after, "burst_after: 4"),
    )
    .unwrap();
    let rtl = tmp.path().join("rtl");
    let manifest = build(&early, &rtl, "12");
    assert!(
        manifest.contains("burst_after: 4"),
        "no bursts after 4 steps:\n{manifest}"
    );
    let r = common::assert_cosim_exact(&rtl, &example("data/test-images.npy"), "verilator", 2);
    eprintln!("{r}");
}
