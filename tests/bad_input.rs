//! Malformed or unsupported inputs give a clear error and exit status 1,
//! never a panic. Each error's text is pinned to what a user needs to act.

mod common;

use std::io::Write;

use common::*;

fn eval_args(model: &std::path::Path, data: &std::path::Path) -> Vec<std::ffi::OsString> {
    vec![
        "eval".into(),
        model.as_os_str().into(),
        "--data".into(),
        data.as_os_str().into(),
    ]
}

#[test]
fn truncated_h5_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // 0.999: only the tail (optimizer state) is lost; the model would read.
    for (kind, keep) in [
        ("tf2.h5", 0.5),
        ("k3.h5", 0.9),
        ("tf2.h5", 0.05),
        ("tf2.h5", 0.999),
        ("k3.h5", 0.999),
    ] {
        let bytes = std::fs::read(example(&format!("models/lenet.{kind}"))).unwrap();
        let path = dir.path().join(format!("cut-{keep}.{kind}"));
        std::fs::write(&path, &bytes[..(bytes.len() as f64 * keep) as usize]).unwrap();
        let out = snncc(["inspect".as_ref(), path.as_os_str()]);
        assert_fails_with(&out, &[path.file_name().unwrap().to_str().unwrap()]);
        if keep > 0.99 {
            assert_fails_with(
                &out,
                &[
                    "truncated",
                    &format!("has {} bytes", (bytes.len() as f64 * keep) as usize),
                ],
            );
        }
    }
}

#[test]
fn truncated_keras_zip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(example("models/lenet.keras")).unwrap();
    let path = dir.path().join("cut.keras");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let out = snncc(["inspect".as_ref(), path.as_os_str()]);
    assert_fails_with(&out, &["cut.keras", "zip"]);
}

#[test]
fn text_file_renamed_h5_is_not_a_keras_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.h5");
    std::fs::write(&path, "this is not a model\n").unwrap();
    let out = snncc(["inspect".as_ref(), path.as_os_str()]);
    assert_fails_with(&out, &["model.h5", "not a Keras model file"]);
    let empty = dir.path().join("empty.keras");
    std::fs::write(&empty, "").unwrap();
    let out = snncc(["inspect".as_ref(), empty.as_os_str()]);
    assert_fails_with(&out, &["empty.keras", "empty"]);
}

fn zip_with(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in members {
            zip.start_file(*name, opts).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }
    buf.into_inner()
}

#[test]
fn zip_without_config_or_weights_names_the_missing_member() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noconfig.keras");
    std::fs::write(&path, zip_with(&[("metadata.json", b"{}")])).unwrap();
    let out = snncc(["inspect".as_ref(), path.as_os_str()]);
    assert_fails_with(&out, &["noconfig.keras", "config.json"]);

    let member = |name: &str| -> Vec<u8> {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(example("models/lenet.keras")).unwrap())
                .unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name(name).unwrap(), &mut bytes).unwrap();
        bytes
    };
    let config = member("config.json");
    let weights = member("model.weights.h5");
    let path = dir.path().join("noweights.keras");
    std::fs::write(&path, zip_with(&[("config.json", &config)])).unwrap();
    let out = snncc(["inspect".as_ref(), path.as_os_str()]);
    assert_fails_with(&out, &["noweights.keras", "model.weights.h5"]);

    let path = dir.path().join("badjson.keras");
    let bad_json: &[u8] = b"{\"class_name\": ";
    std::fs::write(
        &path,
        zip_with(&[("config.json", bad_json), ("model.weights.h5", &weights)]),
    )
    .unwrap();
    let out = snncc(["inspect".as_ref(), path.as_os_str()]);
    assert_fails_with(&out, &["badjson.keras", "not valid JSON"]);
}

#[test]
fn nan_weights_are_refused_naming_layer_and_weight() {
    for kind in ["tf2.h5", "k3.h5", "keras"] {
        let model = fixture(&format!("nan_weights.{kind}"));
        let out = snncc(eval_args(&model, &fixture("seq_noinput.inputs.npy")));
        assert_fails_with(
            &out,
            &["nan_weights", "layer 'conv'", "weight 'kernel'", "NaN"],
        );
    }
}

#[test]
fn every_unsupported_layer_is_listed_at_once() {
    for kind in ["tf2.h5", "k3.h5", "keras"] {
        let model = fixture(&format!("unsupported.{kind}"));
        let out = snncc(eval_args(&model, &fixture("seq_noinput.inputs.npy")));
        assert_fails_with(
            &out,
            &[
                "5 layer(s) cannot be converted",
                "dilated (Conv2D): dilation_rate",
                "depthwise (DepthwiseConv2D)",
                "tanh_conv (Conv2D): activation 'tanh'",
                "upsample (UpSampling2D)",
                "sigmoid_fc (Dense): activation 'sigmoid'",
            ],
        );
        // inspect still shows the table, marks the layers, and exits 1.
        let out = snncc(["inspect".as_ref(), model.as_os_str()]);
        assert_eq!(out.status.code(), Some(1));
        let table = stdout(&out);
        assert!(table.contains("NO: layer type DepthwiseConv2D"), "{table}");
        assert!(table.contains("flat") && table.contains("yes"), "{table}");
    }
}

#[test]
fn wrong_data_shape_is_reported_against_the_model_input() {
    let out = snncc(eval_args(
        &example("models/lenet.keras"),
        &fixture("resnet_mini.inputs.npy"),
    ));
    assert_fails_with(&out, &["resnet_mini.inputs.npy", "28x28x1", "20x24x3"]);
}

#[test]
fn labels_of_the_wrong_length_are_refused() {
    let mut args = eval_args(
        &example("models/lenet.keras"),
        &example("data/calib-images.npy"),
    );
    args.extend(["--labels".into(), example("data/test-labels.npy").into()]);
    let out = snncc(args);
    assert_fails_with(&out, &["2000 labels", "500 images", "test-labels.npy"]);
}

#[test]
fn unreadable_data_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("x.npy");
    std::fs::write(&junk, "not numpy").unwrap();
    let out = snncc(eval_args(&example("models/lenet.keras"), &junk));
    assert_fails_with(&out, &["x.npy", "unrecognised data format"]);
    let out = snncc(eval_args(
        &dir.path().join("missing.h5"),
        &example("data/test-images.npy"),
    ));
    assert_fails_with(&out, &["missing.h5", "cannot read"]);
}

#[test]
fn usage_errors_exit_with_status_2_and_help_teaches() {
    let out = snncc(["eval"]);
    assert_eq!(out.status.code(), Some(2));
    for args in [
        vec!["--help"],
        vec!["eval", "--help"],
        vec!["inspect", "--help"],
    ] {
        let out = snncc(&args);
        assert!(out.status.success());
        assert!(stdout(&out).contains("Examples:"), "{args:?}");
    }
}

/// `snncc simulate` on the LeNet example and its data, with `extra`.
fn simulate_lenet(extra: &[&str]) -> std::process::Output {
    let mut args: Vec<std::ffi::OsString> = vec![
        "simulate".into(),
        example("models/lenet.keras").into(),
        "--calib".into(),
        example("data/calib-images.npy").into(),
        "--data".into(),
        example("data/test-images.npy").into(),
        "--labels".into(),
        example("data/test-labels.npy").into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    snncc(args)
}

#[test]
fn empty_selections_and_zero_timesteps_are_refused() {
    let out = snncc([
        "eval".as_ref(),
        example("models/lenet.keras").as_os_str(),
        "--data".as_ref(),
        example("data/test-images.npy").as_os_str(),
        "--limit".as_ref(),
        "0".as_ref(),
    ]);
    assert_fails_with(&out, &["no images to evaluate"]);
    let simulate = simulate_lenet;
    assert_fails_with(
        &simulate(&["--timesteps", "0,8"]),
        &["--timesteps", "timesteps must be positive"],
    );
    assert_fails_with(&simulate(&["--limit", "0"]), &["no images to simulate"]);
}

#[test]
fn initial_potentials_outside_minus_one_to_one_or_nan_are_refused() {
    for h in ["nan", "1.5", "-2", "inf"] {
        let out = simulate_lenet(&["--calibrate", "none", "--h", h]);
        assert_fails_with(
            &out,
            &[
                &format!("--h {}", h.parse::<f32>().unwrap()),
                "from -1 to 1",
            ],
        );
    }
}

#[test]
fn a_keras_member_larger_than_the_limit_is_refused_unread() {
    // A decompression bomb: 1 GiB + 1 of spaces deflates to about 1 MB.
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        zip.start_file("config.json", opts).unwrap();
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..1024 {
            zip.write_all(&chunk).unwrap();
        }
        zip.write_all(b" ").unwrap();
        zip.finish().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.keras");
    std::fs::write(&path, buf.into_inner()).unwrap();
    let out = snncc(["inspect".as_ref(), path.as_os_str()]);
    assert_fails_with(
        &out,
        &["bomb.keras", "config.json", "1073741825 bytes", "limit"],
    );
}

#[test]
fn pooling_windows_over_a_vector_are_refused_by_the_network_check() {
    // An edited snn.yaml once passed the check with a 1x1 average pool over
    // a vector and then panicked in the quantiser.
    use snncc::ir::Pad;
    use snncc::snn::Synapses;
    let mut model = common::mlp(&mut common::Lcg(3));
    // (The generator's scales are one per layer; the check wants one per
    // channel.)
    for layer in &mut model.layers {
        layer.lambda = vec![layer.lambda[0]; layer.size()];
    }
    snncc::snn::check_model(&model).unwrap();
    let n = model.layers[0].size();
    model.layers[1].shape = snncc::ir::Shape::Vector { n };
    model.layers[1].lambda = vec![1.0; n];
    model.layers[1].bias = None;
    model.layers[1].inputs[0].synapses = Synapses::AvgPool {
        size: (1, 1),
        strides: (1, 1),
        pad: Pad::default(),
        scale: vec![1.0; n],
    };
    let (layer, reason) = snncc::snn::check_model(&model).unwrap_err();
    assert_eq!(layer, model.layers[1].name);
    assert!(reason.contains("do not fit"), "{reason}");
    let dir = tempfile::tempdir().unwrap();
    // What a user gets from an edited directory: an error naming the layer.
    let out = dir.path().join("net");
    snncc::snn::save_net(&model, &out, &[]).ok();
    if out.join("snn.yaml").exists() {
        let res = snncc(["inspect".as_ref(), out.as_os_str()]);
        assert_fails_with(&res, &[model.layers[1].name.as_str()]);
    }
}

#[test]
fn weight_bits_the_datapath_cannot_hold_are_refused_not_panicked() {
    // 60-bit weights and 9-bit inputs: the first layer's products would
    // need 67 fractional bits (this once panicked in the quantiser).
    for bits in ["60", "64", "65"] {
        let out = simulate_lenet(&["--timesteps", "8", "--limit", "5", "--bits", bits]);
        assert_fails_with(&out, &[&format!("--bits {bits}")]);
    }
}

#[test]
fn a_zero_calibration_length_is_refused() {
    let out = simulate_lenet(&["--calibrate-timesteps", "0"]);
    assert_fails_with(&out, &["--calibrate-timesteps must be positive"]);
}
