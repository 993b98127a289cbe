//! The real binary reproduces Keras's outputs on every committed model, in
//! all three file kinds: max |difference| <= 1e-4 and identical accuracy.

mod common;

use common::*;
use serde_json::Value;

const TOLERANCE: f32 = 1e-4;

fn reference(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    serde_json::from_str(&text).expect("valid reference.json")
}

/// Run `snncc eval` on every model of a reference.json (with `--labels`
/// when given), check outputs against Keras's, and return the JSON reports.
fn eval_against_keras(
    dir: &std::path::Path,
    inputs: &dyn Fn(&Value) -> std::path::PathBuf,
    labels: Option<std::path::PathBuf>,
) -> Vec<(Value, Value)> {
    let refs = reference(dir);
    let tmp = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for m in refs["models"].as_array().expect("models list") {
        let file = dir.join(m["file"].as_str().unwrap());
        let dump = tmp.path().join("out.npy");
        let mut args: Vec<std::ffi::OsString> = vec![
            "eval".into(),
            file.clone().into(),
            "--data".into(),
            inputs(m).into(),
            "--json".into(),
            "--dump-outputs".into(),
            dump.clone().into(),
        ];
        if let Some(labels) = &labels {
            args.extend(["--labels".into(), labels.into()]);
        }
        let out = snncc(args);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        let diff = max_abs_diff(&dump, &dir.join(m["outputs"].as_str().unwrap()));
        assert!(diff <= TOLERANCE, "{}: max |diff| {diff}", file.display());
        let report: Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
        reports.push((m.clone(), report));
    }
    reports
}

#[test]
fn example_models_match_keras_outputs_and_accuracy() {
    let reports = eval_against_keras(
        &example("models"),
        &|_| example("data/test-images.npy"),
        Some(example("data/test-labels.npy")),
    );
    assert_eq!(reports.len(), 6, "lenet and vgg, three writers each");
    for (reference, report) in reports {
        assert_eq!(report["n"], 2000);
        assert_eq!(
            report["accuracy"].as_f64().unwrap(),
            reference["accuracy"].as_f64().unwrap(),
            "{}: accuracy differs from Keras",
            reference["file"]
        );
    }
}

#[test]
fn idx_and_npy_inputs_give_the_same_accuracy() {
    let model = example("models/lenet.keras");
    let run = |data: &str, labels: &str| -> Value {
        let out = snncc([
            "eval".as_ref(),
            model.as_os_str(),
            "--data".as_ref(),
            example(data).as_os_str(),
            "--labels".as_ref(),
            example(labels).as_os_str(),
            "--limit".as_ref(),
            "500".as_ref(),
            "--json".as_ref(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let npy = run("data/test-images.npy", "data/test-labels.npy");
    let idx = run(
        "data/mnist-test-images-idx3-ubyte.gz",
        "data/mnist-test-labels-idx1-ubyte.gz",
    );
    assert_eq!(npy["n"], 500);
    assert_eq!(npy["accuracy"], idx["accuracy"]);
}

#[test]
fn fixture_models_match_keras_outputs() {
    let dir = fixture("");
    let reports = eval_against_keras(&dir, &|m| dir.join(m["inputs"].as_str().unwrap()), None);
    assert_eq!(reports.len(), 15, "five models, three writers each");
}

#[test]
fn inspect_lists_layers_shapes_and_params_in_json() {
    for kind in ["tf2.h5", "k3.h5", "keras"] {
        let file = fixture(&format!("resnet_mini.{kind}"));
        let out = snncc(["inspect".as_ref(), file.as_os_str(), "--json".as_ref()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(doc["input_shape"], serde_json::json!([20, 24, 3]));
        assert_eq!(doc["output_shape"], serde_json::json!([5]));
        let layers = doc["layers"].as_array().unwrap();
        let add = layers.iter().find(|l| l["name"] == "b2_add").unwrap();
        assert_eq!(add["inputs"], serde_json::json!(["b2_proj", "b2_conv2"]));
        assert_eq!(add["output_shape"], serde_json::json!([6, 7, 16]));
        let pad = layers.iter().find(|l| l["name"] == "pad").unwrap();
        assert_eq!(pad["output_shape"], serde_json::json!([23, 25, 3]));
        // Keras's own count for this model (model.count_params()).
        assert_eq!(doc["params"], 5261, "{kind}");
    }
}

#[test]
fn inspect_table_is_human_readable() {
    let out = snncc(["inspect".as_ref(), example("models/vgg.tf2.h5").as_os_str()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "conv1",
        "BatchNormalization",
        "folded into weights",
        "14x14x16",
        "readout",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}
