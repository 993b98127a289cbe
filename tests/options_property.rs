//! Any option set `snncc build` accepts gives valid Verilog: random option
//! sets (in and out of range) on small fixtures either build RTL that is
//! lint-clean under `verilator --lint-only -Wall`, with no negative literal
//! printed as unsigned, or are refused with exit status 1 and a message;
//! never a panic, never invalid RTL.

mod common;

use std::ffi::OsString;

use common::*;
use proptest::prelude::*;

/// One `snncc build` invocation's options, as the user would type them.
#[derive(Debug, Clone)]
struct Options {
    model: &'static str,
    args: Vec<String>,
}

fn choice(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_string)
}

/// Mostly a valid value, now and then one beyond the edge (about one
/// option set in three has one, so most sets are accepted and built).
fn value(
    valid: impl Strategy<Value = String>,
    invalid: &'static [&'static str],
) -> impl Strategy<Value = String> {
    prop_oneof![30 => valid, 1 => choice(invalid)]
}

/// An option with a value, or the default (absent).
fn maybe(
    flag: &'static str,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = Vec<String>> {
    proptest::option::weighted(0.6, value).prop_map(move |v| match v {
        Some(v) => vec![flag.to_string(), v],
        None => Vec::new(),
    })
}

fn number<T: std::fmt::Display>(range: impl Strategy<Value = T>) -> impl Strategy<Value = String> {
    range.prop_map(|v| v.to_string())
}

fn options() -> impl Strategy<Value = Options> {
    let model =
        proptest::sample::select(&["mlp_flat.keras", "mixed_seq.k3.h5", "resnet_mini.tf2.h5"][..]);
    let numeric = (
        maybe("--bits", value(number(2u32..=24), &["1", "60", "66"])),
        maybe("--input-bits", value(number(2u32..=16), &["1", "40"])),
        maybe("--timesteps", value(number(1usize..=300), &["0", "-4"])),
        maybe(
            "--lanes",
            value(
                choice(&["1", "2", "4", "8", "16", "32", "64"]),
                &["0", "3", "128"],
            ),
        ),
        maybe("--slots", value(number(1usize..=16), &["0", "17"])),
        maybe(
            "--slack",
            value(choice(&["0", "5", "10", "50"]), &["-1", "nan"]),
        ),
        maybe(
            "--h",
            value(
                (-0.99f32..0.99).prop_map(|h| format!("{h:.3}")),
                &["nan", "inf", "-1.5", "1"],
            ),
        ),
        maybe("--calibrate-timesteps", value(number(1usize..=48), &["0"])),
    );
    let named = (
        maybe("--state", choice(&["auto", "merged", "separate"])),
        maybe(
            "--rounding",
            choice(&["nearest-even", "nearest", "toward-zero", "floor"]),
        ),
        maybe("--overflow", choice(&["saturate", "wrap"])),
        maybe(
            "--cutoff",
            value(choice(&["auto", "0.5", "3", "0.01"]), &["-1", "nan"]),
        ),
        maybe(
            "--cutoff-agreement",
            value(choice(&["0.9", "0.999", "1"]), &["1.5", "0"]),
        ),
        maybe(
            "--norm",
            value(choice(&["max", "p99", "p99.9", "p99.99"]), &["p101", "p0"]),
        ),
        maybe("--scales", choice(&["channel", "layer"])),
        maybe("--calibrate", choice(&["none", "h"])),
        maybe("--readout", choice(&["potential", "spikes"])),
    );
    (model, numeric, named).prop_map(|(model, n, m)| {
        let mut args = Vec::new();
        for part in [n.0, n.1, n.2, n.3, n.4, n.5, n.6, n.7] {
            args.extend(part);
        }
        for part in [m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7, m.8] {
            args.extend(part);
        }
        Options { model, args }
    })
}

/// Build with `o`; on success lint what was built.
fn build_and_lint(o: &Options) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let stem = o.model.split('.').next().unwrap();
    let mut args: Vec<OsString> = vec![
        "build".into(),
        fixture(o.model).into(),
        "--calib".into(),
        fixture(&format!("{stem}.inputs.npy")).into(),
        "-o".into(),
        out.clone().into(),
    ];
    args.extend(o.args.iter().map(OsString::from));
    let res = snncc(&args);
    let err = stderr(&res);
    if std::env::var_os("SNNCC_SHOW_OPTIONS").is_some() {
        eprintln!(
            "{:?} {} {:?}: {}",
            res.status.code(),
            o.model,
            o.args,
            err.lines()
                .filter(|l| l.contains("error"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    prop_assert!(!err.contains("panicked"), "panicked:\n{err}");
    match res.status.code() {
        Some(0) => {}
        // Refused: a usage error (2) or a stated reason (1), never silence.
        Some(1 | 2) => {
            prop_assert!(err.contains("error"), "refused without a message:\n{err}");
            return Ok(());
        }
        other => return Err(TestCaseError::fail(format!("exit {other:?}:\n{err}"))),
    }
    let manifest: serde_json::Value =
        serde_norway::from_slice(&std::fs::read(out.join("manifest.yaml")).unwrap()).unwrap();
    let top = manifest["top"].as_str().unwrap().to_string();
    let rtl = common::rtl_files(&out);
    for file in &rtl {
        let text = std::fs::read_to_string(file).unwrap();
        prop_assert!(
            !text.contains("'d-") && !text.contains("'sd-") && !text.contains("'h-"),
            "{}: a negative literal printed as unsigned",
            file.display()
        );
    }
    let lint = std::process::Command::new("verilator")
        .args(["--lint-only", "-Wall", "--top-module", &top])
        .args(&rtl)
        .output()
        .expect("verilator runs");
    prop_assert!(
        lint.status.success(),
        "RTL of an accepted option set is not lint-clean:\n{}",
        String::from_utf8_lossy(&lint.stderr)
    );
    Ok(())
}

proptest! {
    // Each case converts, quantises, builds and lints (a few seconds):
    // few cases per run, a fresh draw each run.
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 32, ..ProptestConfig::default() })]

    #[test]
    fn accepted_options_give_lint_clean_rtl(o in options()) {
        build_and_lint(&o)?;
    }
}
