//! Shared helpers of the integration tests: run the real binary, locate
//! committed fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/models").join(name)
}

pub fn example(rel: &str) -> PathBuf {
    root().join("examples").join(rel)
}

/// Run `snncc` with `args`; returns the raw output whatever the status.
pub fn snncc<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::cargo_bin("snncc")
        .expect("snncc binary is built")
        .args(args)
        .output()
        .expect("snncc runs")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Assert a clean failure: exit status 1, no panic, and `needles` in stderr.
pub fn assert_fails_with(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

/// Largest absolute difference of two equally shaped float arrays.
pub fn max_abs_diff(a: &Path, b: &Path) -> f32 {
    let x = snncc::data::read_npy_f32(a).expect("read our outputs");
    let y = snncc::data::read_npy_f32(b).expect("read Keras outputs");
    assert_eq!(x.shape(), y.shape(), "{} vs {}", a.display(), b.display());
    x.iter()
        .zip(y.iter())
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max)
}

/// Arguments of `snncc simulate` on a bundled example model with the
/// committed calibration and test data, `--json`, then `extra`.
pub fn simulate_args(model: &str, timesteps: &str, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "simulate".into(),
        example(&format!("models/{model}")).into(),
        "--calib".into(),
        example("data/calib-images.npy").into(),
        "--data".into(),
        example("data/test-images.npy").into(),
        "--labels".into(),
        example("data/test-labels.npy").into(),
        "--timesteps".into(),
        timesteps.into(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    args
}

/// `snncc simulate` (see `simulate_args`) must succeed; its JSON report.
pub fn simulate_json(model: &str, timesteps: &str, extra: &[&str]) -> serde_json::Value {
    let out = snncc(simulate_args(model, timesteps, extra));
    assert!(out.status.success(), "{model}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("one JSON object")
}
