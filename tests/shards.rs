//! Sharded sweeps and co-simulations through the real CLI: shards merge to
//! exactly the files of a one-machine run, a killed shard resumes, and
//! missing, unfinished or mismatched shards are refused by name.

mod common;

use std::ffi::OsString;
use std::path::Path;

use common::{assert_fails_with, build_mlp, example_args, fixture, snncc, stderr, stdout};

/// A small LeNet sweep into `out`, with `extra` flags.
fn sweep(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = example_args("sweep", "models/lenet.keras");
    args.extend::<[OsString; 8]>([
        "--bits".into(),
        "4,8".into(),
        "--timesteps".into(),
        "16,32".into(),
        "--limit".into(),
        "120".into(),
        "-o".into(),
        out.into(),
    ]);
    args.extend(extra.iter().map(OsString::from));
    snncc(args)
}

fn ok(out: std::process::Output) -> std::process::Output {
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

const SWEEP_FILES: [&str; 4] = [
    "sweep.csv",
    "pareto.csv",
    "accuracy_vs_timesteps.svg",
    "accuracy_vs_memory.svg",
];

fn assert_same_files(a: &Path, b: &Path, names: &[&str]) {
    for name in names {
        let (x, y) = (
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
        );
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn four_sweep_shards_merge_to_the_one_machine_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, split) = (tmp.path().join("whole"), tmp.path().join("split"));
    ok(sweep(&whole, &[]));

    // Three kinds of work (float, 4 and 8 bits) over four shards: image
    // blocks, so every shard has some.
    for k in 1..=3 {
        ok(sweep(&split, &["--shard", &format!("{k}/4")]));
    }
    assert_fails_with(
        &snncc([
            "sweep".into(),
            "--merge".into(),
            split.clone().into_os_string(),
        ]),
        &["4-of-4", "missing"],
    );

    // Shard 1 killed after its first item: its file holds one of two.
    let path = split.join("shards/1-of-4.json");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let items = file["items"].as_array_mut().unwrap();
    assert_eq!(items.len(), 2);
    items.pop();
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    ok(sweep(&split, &["--shard", "4/4"]));
    let status = ok(snncc([
        "sweep".into(),
        "--status".into(),
        split.clone().into_os_string(),
    ]));
    let text = stdout(&status);
    assert!(text.contains("1-of-4  1 of 2"), "{text}");
    assert!(text.contains("not ready to merge"), "{text}");
    assert_fails_with(
        &snncc([
            "sweep".into(),
            "--merge".into(),
            split.clone().into_os_string(),
        ]),
        &["1-of-4", "not finished", "8 bits block 1 of 2"],
    );

    // Rerun: it resumes, and the merge equals the one-machine sweep.
    let again = ok(sweep(&split, &["--shard", "1/4"]));
    assert!(stderr(&again).contains("resuming"), "{}", stderr(&again));
    ok(snncc([
        "sweep".into(),
        "--merge".into(),
        split.clone().into_os_string(),
    ]));
    assert_same_files(&whole, &split, &SWEEP_FILES);

    // A shard of another sweep is refused by name.
    std::fs::copy(
        whole.join("shards/1-of-1.json"),
        split.join("shards/1-of-1.json"),
    )
    .unwrap();
    assert_fails_with(
        &snncc([
            "sweep".into(),
            "--merge".into(),
            split.clone().into_os_string(),
        ]),
        &["different sweeps", "1-of-4", "number of shards"],
    );
    // So is a shard with other settings into the same folder.
    assert_fails_with(
        &sweep(&split, &["--shard", "2/4", "--h", "0.25"]),
        &["other settings", "settings.json"],
    );
}

#[test]
fn slurm_scripts_run_the_same_command_per_shard() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("s");
    let run = ok(sweep(
        &out,
        &[
            "--slurm",
            "3",
            "--cpus-per-task",
            "1",
            "--sbatch=--time=00:10:00",
        ],
    ));
    assert!(
        stdout(&run).contains("job array of 3 shards"),
        "{}",
        stdout(&run)
    );
    let array = std::fs::read_to_string(out.join("slurm/snncc-sweep.sbatch")).unwrap();
    for line in [
        "#SBATCH --array=1-3",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --time=00:10:00",
    ] {
        assert!(array.lines().any(|l| l == line), "{line}:\n{array}");
    }
    let exec = array.lines().find(|l| l.starts_with("exec ")).unwrap();
    assert!(
        exec.contains(" sweep ") && exec.contains("--limit 120"),
        "{exec}"
    );
    assert!(
        exec.ends_with("--shard \"$SLURM_ARRAY_TASK_ID/3\""),
        "{exec}"
    );
    for gone in ["--slurm", "--cpus-per-task", "--sbatch"] {
        assert!(!exec.contains(gone), "{gone} in {exec}");
    }
    let merge = std::fs::read_to_string(out.join("slurm/snncc-sweep-merge.sbatch")).unwrap();
    assert!(merge.contains("sweep --merge"), "{merge}");
    // Nothing was simulated here.
    assert!(!out.join("shards").exists());
}

#[test]
fn two_cosim_shards_merge_to_the_two_part_run() {
    let tmp = tempfile::tempdir().unwrap();
    let design = tmp.path().join("d");
    let data = fixture("mlp_flat.inputs.npy");
    build_mlp(&design);
    let cosim = |limit: &str, extra: &[&str]| {
        let mut args: Vec<OsString> = vec![
            "cosim".into(),
            design.clone().into(),
            "--data".into(),
            data.clone().into(),
            "--limit".into(),
            limit.into(),
        ];
        args.extend(extra.iter().map(OsString::from));
        snncc(args)
    };
    let whole = ok(cosim("5", &["--jobs", "2", "--json"]));
    let record = std::fs::read(design.join("cosim.json")).unwrap();
    ok(cosim("5", &["--shard", "2/2"]));
    assert_fails_with(
        &snncc([
            "cosim".into(),
            design.clone().into_os_string(),
            "--merge".into(),
        ]),
        &["1-of-2", "missing"],
    );
    ok(cosim("5", &["--shard", "1/2"]));
    let merged = ok(snncc([
        "cosim".into(),
        design.clone().into_os_string(),
        "--merge".into(),
        "--json".into(),
    ]));
    assert_eq!(stdout(&whole), stdout(&merged));
    assert_eq!(record, std::fs::read(design.join("cosim.json")).unwrap());
    let report: serde_json::Value = serde_json::from_str(&stdout(&merged)).unwrap();
    assert_eq!(report["images"], 5);
    assert_eq!(report["mismatches"], 0);
    // A shard of another co-simulation (other inputs) is refused.
    ok(cosim("4", &["--shard", "1/3"]));
    assert_fails_with(
        &snncc(["cosim".into(), design.into_os_string(), "--merge".into()]),
        &["different co-simulations", "1-of-3"],
    );
}
