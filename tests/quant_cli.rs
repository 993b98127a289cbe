//! The fixed-point commands through the real binary: `simulate --bits` on
//! the bundled examples meets the 8-bit target, `quantize` writes YAML that
//! `--quant` reads back to the same results, bad files are refused with the
//! line named, a small `sweep` writes its files and resumes, and `--trace`
//! writes a NumPy archive.

mod common;

use std::ffi::OsString;
use std::path::Path;

use common::*;
use serde_json::Value;

fn simulate(model: &str, timesteps: &str, extra: &[&str]) -> Value {
    simulate_json(model, timesteps, extra)
}

fn accuracy(report: &Value) -> f64 {
    report["runs"][0]["accuracy"].as_f64().unwrap()
}

fn assert_8_bit_target(model: &str) {
    let float = simulate(model, "64", &[]);
    let fixed = simulate(model, "64", &["--bits", "8"]);
    assert_eq!(fixed["datapath"], "fixed");
    assert_eq!(
        fixed["overflows"], 0,
        "{model}: automatic formats overflowed"
    );
    let loss = 100.0 * (accuracy(&float) - accuracy(&fixed));
    assert!(
        loss <= 0.5,
        "{model}: 8-bit loses {loss:.2} pp against float at T=64"
    );
    let layers = fixed["quant"]["layers"].as_array().unwrap();
    assert!(
        layers.iter().all(|l| l["weights"]["bits"] == 8),
        "{layers:?}"
    );
    assert!(fixed["quant"]["weight_memory_bits"].as_u64().unwrap() > 0);
}

#[test]
fn lenet_8_bit_within_half_a_point_of_float_without_overflow() {
    assert_8_bit_target("lenet.keras");
}

#[test]
fn vgg_8_bit_within_half_a_point_of_float_without_overflow() {
    assert_8_bit_target("vgg.keras");
}

fn quantize(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let q = dir.join("q.yaml");
    let mut args: Vec<OsString> = vec![
        "quantize".into(),
        example("models/lenet.keras").into(),
        "--calib".into(),
        example("data/calib-images.npy").into(),
        "--bits".into(),
        "6".into(),
        "--timesteps".into(),
        "32".into(),
        "-o".into(),
        q.clone().into(),
    ];
    args.extend(extra.iter().map(|a| a.into()));
    let out = snncc(args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("conv1"), "{}", stdout(&out));
    q
}

#[test]
fn yaml_round_trip_reproduces_the_automatic_formats() {
    let dir = tempfile::tempdir().unwrap();
    let q = quantize(dir.path(), &[]);
    let q_str = q.to_str().unwrap();
    let auto = simulate("lenet.keras", "32", &["--bits", "6", "--limit", "300"]);
    let file = simulate("lenet.keras", "32", &["--quant", q_str, "--limit", "300"]);
    assert_eq!(auto["runs"], file["runs"]);
    assert_eq!(auto["quant"]["layers"], file["quant"]["layers"]);
    // An edit takes effect: 3-bit weights in fc1 change the result's memory.
    let text = std::fs::read_to_string(&q).unwrap();
    let fc1 = text.find("name: fc1").unwrap();
    let edited = format!(
        "{}{}",
        &text[..fc1],
        text[fc1..].replacen("bits: 6\n    frac: 5", "bits: 3\n    frac: 2", 1)
    );
    std::fs::write(&q, edited).unwrap();
    let edited = simulate("lenet.keras", "32", &["--quant", q_str, "--limit", "300"]);
    let memory = |r: &Value| r["quant"]["weight_memory_bits"].as_u64().unwrap();
    assert_eq!(memory(&auto) - memory(&edited), 3 * 256 * 120);
}

#[test]
fn bad_quantisation_files_are_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let q = quantize(dir.path(), &[]);
    let text = std::fs::read_to_string(&q).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let run = |body: String| {
        std::fs::write(&q, body).unwrap();
        snncc(simulate_args(
            "lenet.keras",
            "16",
            &["--quant", q.to_str().unwrap(), "--limit", "10"],
        ))
    };
    // Zero bits in conv2's membrane: the membrane line of conv2.
    let conv2 = text.find("name: conv2").unwrap();
    let m = conv2 + text[conv2..].find("membrane:").unwrap();
    let bad = format!(
        "{}membrane:\n    bits: 0\n{}",
        &text[..m],
        &text[m..].splitn(3, '\n').nth(2).unwrap()
    );
    let line = text[..m].matches('\n').count() + 1;
    assert_fails_with(
        &run(bad),
        &[
            &format!("q.yaml:{line}:"),
            "conv2",
            "membrane",
            "at least 1 bit",
        ],
    );
    // More fractional than total bits.
    let bad = text.replacen("frac: 5", "frac: 40", 1);
    assert_fails_with(&run(bad), &["q.yaml:", "40 fractional bits do not fit"]);
    // Too wide.
    let bad = text.replacen("bits: 6", "bits: 80", 1);
    assert_fails_with(&run(bad), &["q.yaml:", "more than the 64"]);
    // An unknown key: serde names the line.
    let bad = text.replacen("overflow: saturate", "overflow: saturate\nspeed: fast", 1);
    assert_fails_with(&run(bad), &["q.yaml", "unknown field `speed`", "line"]);
    // A layer the network does not have.
    let bad = text.replacen("name: fc2", "name: fc9", 1);
    let line = line_of("name: fc2");
    assert_fails_with(
        &run(bad),
        &[&format!("q.yaml:{line}:"), "fc9", "does not have"],
    );
    // A missing file.
    let out = snncc(simulate_args(
        "lenet.keras",
        "16",
        &["--quant", "/nonexistent/q.yaml"],
    ));
    assert_fails_with(&out, &["/nonexistent/q.yaml"]);
}

#[test]
fn small_sweep_writes_csv_pareto_and_charts_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("sweep");
    let args = |bits: &str| -> Vec<OsString> {
        vec![
            "sweep".into(),
            example("models/lenet.keras").into(),
            "--calib".into(),
            example("data/calib-images.npy").into(),
            "--data".into(),
            example("data/test-images.npy").into(),
            "--labels".into(),
            example("data/test-labels.npy").into(),
            "--bits".into(),
            bits.into(),
            "--timesteps".into(),
            "16,32".into(),
            "--limit".into(),
            "200".into(),
            "-o".into(),
            out_dir.clone().into(),
        ]
    };
    let out = snncc(args("4,8"));
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "bits,timesteps,accuracy,loss_pp,spikes_per_image,synops_per_image,weight_memory_bits,overflows,\
         cutoff_margin,cutoff_margin_raw,cutoff_accuracy,mean_timesteps"
    );
    assert_eq!(lines.count(), 4, "{csv}");
    assert!(
        std::fs::read_to_string(out_dir.join("pareto.csv"))
            .unwrap()
            .lines()
            .count()
            >= 2
    );
    for svg in ["accuracy_vs_timesteps.svg", "accuracy_vs_memory.svg"] {
        let text = std::fs::read_to_string(out_dir.join(svg)).unwrap();
        assert!(
            text.starts_with("<svg") && text.contains("accuracy"),
            "{svg}"
        );
    }
    // Rerun with one more width: the finished ones are kept.
    let out = snncc(args("4,6,8"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("resuming: 2 of 3"),
        "{}",
        stderr(&out)
    );
    let csv = std::fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6, "{csv}");
    // Other settings into the same folder: refused.
    let mut other = args("4");
    other[13] = "100".into();
    assert_fails_with(&snncc(other), &["other settings", "settings.json"]);
}

/// `simulate` of the LeNet example's first test digit, 8-bit, T = 8,
/// tracing every layer into `path` (its extension picks the format).
fn trace_lenet_8bit(path: &std::path::Path) -> std::process::Output {
    snncc(simulate_args(
        "lenet.keras",
        "8",
        &[
            "--bits",
            "8",
            "--limit",
            "1",
            "--trace",
            path.to_str().unwrap(),
        ],
    ))
}

#[test]
fn trace_writes_a_numpy_archive_of_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.npz");
    let out = trace_lenet_8bit(&path);
    assert!(out.status.success(), "{}", stderr(&out));
    let zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    for layer in ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"] {
        assert!(names.contains(&format!("{layer}.spikes.npy")), "{names:?}");
        assert!(names.contains(&format!("{layer}.v.npy")), "{names:?}");
    }
    let out = snncc(simulate_args(
        "lenet.keras",
        "8",
        &["--limit", "1", "--trace", "t.txt"],
    ));
    assert_fails_with(&out, &[".vcd", ".npz"]);
}

/// The VCD trace (written as it goes): every layer's scope, the header's
/// end, and one time mark per step after the initial state.
#[test]
fn trace_writes_a_value_change_dump_of_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.vcd");
    let out = trace_lenet_8bit(&path);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("$version snncc"), "{}", &text[..200]);
    for layer in ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2", "fc3"] {
        assert!(
            text.contains(&format!("$scope module {layer} $end")),
            "{layer}"
        );
    }
    let body = text.split("$enddefinitions $end\n").nth(1).unwrap();
    assert!(body.starts_with("#0\n$dumpvars\n"));
    // Steps 1..8 unless the run stopped early (no cutoff here: all 8).
    for t in 1..=8 {
        assert!(body.contains(&format!("\n#{t}\n")), "step {t}");
    }
    assert!(!body.contains("\n#9\n"));
}

#[test]
fn converted_directory_simulates_in_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let out = snncc([
        "convert".as_ref(),
        example("models/lenet.keras").as_os_str(),
        "--calib".as_ref(),
        example("data/calib-images.npy").as_os_str(),
        "-o".as_ref(),
        net.as_os_str(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = |extra: &[&str]| {
        let mut args: Vec<OsString> = vec![
            "simulate".into(),
            net.clone().into(),
            "--data".into(),
            example("data/test-images.npy").into(),
            "--labels".into(),
            example("data/test-labels.npy").into(),
            "--timesteps".into(),
            "32".into(),
            "--limit".into(),
            "100".into(),
            "--bits".into(),
            "8".into(),
            "--json".into(),
        ];
        args.extend(extra.iter().map(|a| a.into()));
        snncc(args)
    };
    let out = run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A directory from before the input range was recorded: --calib supplies it.
    let yaml = net.join("snn.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    let start = text.find("input_range:").unwrap();
    let end = start
        + text[start..]
            .find("\nnotes:")
            .or(text[start..].find("\nlayers:"))
            .unwrap();
    std::fs::write(&yaml, format!("{}{}", &text[..start], &text[end + 1..])).unwrap();
    assert_fails_with(&run(&[]), &["input range", "--calib"]);
    let calib = example("data/calib-images.npy");
    let out = run(&["--calib", calib.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}
