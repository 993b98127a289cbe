//! Every input `fuzz/run.sh` found a crash with, replayed through the CLI:
//! each must now fail cleanly (exit 1, a message naming what and where) or
//! work. The inputs are committed under tests/fixtures/fuzz/, named for the
//! target that found them.

mod common;

use std::path::PathBuf;

use common::*;

fn found(name: &str) -> PathBuf {
    root().join("tests/fixtures/fuzz").join(name)
}

/// keras_h5: a model that is only its input layer. Convert wrote a network
/// of no layers, and simulating it panicked (an empty layer list indexed).
#[test]
fn a_model_that_is_only_its_input_is_refused_by_convert() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let out = snncc([
        "convert".as_ref(),
        found("keras_h5-input-only.h5").as_os_str(),
        "--calib".as_ref(),
        fixture("seq_noinput.inputs.npy").as_os_str(),
        "-o".as_ref(),
        net.as_os_str(),
    ]);
    assert_fails_with(&out, &["no layer after its input"]);
    assert!(!net.join("snn.yaml").exists(), "no network is written");
}
