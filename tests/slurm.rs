//! A real Slurm cluster: scripts/slurm-local.sh starts slurmctld and slurmd
//! on this machine; a 4-shard sweep of the LeNet example (one shard
//! cancelled, then resubmitted) and a 2-shard co-simulation run as job
//! arrays, merge, and must equal one-machine runs file for file. Needs
//! Debian's slurm-wlm and munge and root (scripts/install-deps.sh, .ci/run);
//! SNNCC_SKIP_SLURM=1 skips it on machines without them, saying so.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{build_mlp, example_args, fixture, root, snncc, stderr, stdout};

/// The cluster, stopped when dropped (also when the test fails).
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let out = Command::new("bash")
            .arg(root().join("scripts/slurm-local.sh"))
            .arg("start")
            .arg(dir)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "the local Slurm cluster did not start (install slurm-wlm and munge with \
             scripts/install-deps.sh, run as root, or set SNNCC_SKIP_SLURM=1):\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        Cluster {
            dir: dir.into(),
            conf: dir.join("slurm.conf"),
        }
    }

    /// A Slurm client command against this cluster.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Run a client command; its stdout.
    fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.cmd(program).args(args).output().expect("runs");
        assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    /// Wait until job `id` (all its tasks) has left the queue.
    fn wait(&self, id: &str) {
        let start = Instant::now();
        while !self.run("squeue", &["-h", "-j", id]).is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(1200),
                "job {id} still queued after 20 minutes:\n{}",
                self.run("squeue", &["-j", id])
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("scripts/slurm-local.sh"))
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}

fn sweep_args(out: &Path) -> Vec<OsString> {
    let mut args = example_args("sweep", "models/lenet.keras");
    args.extend::<[OsString; 8]>([
        "--bits".into(),
        "4,6,8".into(),
        "--timesteps".into(),
        "16,32,64".into(),
        "--limit".into(),
        "400".into(),
        "-o".into(),
        out.as_os_str().to_owned(),
    ]);
    args
}

fn same_files(a: &Path, b: &Path, names: &[&str]) {
    for name in names {
        assert!(
            std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap(),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn sharded_sweep_and_cosim_on_a_single_node_slurm_cluster() {
    if std::env::var_os("SNNCC_SKIP_SLURM").is_some() {
        eprintln!("skipped: SNNCC_SKIP_SLURM is set");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&tmp.path().join("cluster"));

    // The one-machine sweep, timed.
    let whole = tmp.path().join("whole");
    let start = Instant::now();
    let out = snncc(sweep_args(&whole));
    assert!(out.status.success(), "{}", stderr(&out));
    let one_machine = start.elapsed();

    // The same sweep as a 4-task job array (1 CPU each); task 3 is
    // cancelled before it runs, as a killed node would leave it.
    let split = tmp.path().join("split");
    let mut args = sweep_args(&split);
    args.extend([
        "--slurm".into(),
        "4".into(),
        "--cpus-per-task".into(),
        "1".into(),
    ]);
    let out = snncc(args);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = split.join("slurm/snncc-sweep.sbatch");
    let start = Instant::now();
    let id = cluster.run(
        "sbatch",
        &["--parsable", "--hold", script.to_str().unwrap()],
    );
    cluster.run("scancel", &[&format!("{id}_3")]);
    cluster.run("scontrol", &["release", &id]);
    cluster.wait(&id);
    let three_shards = start.elapsed();
    let status = snncc([
        "sweep".into(),
        "--status".into(),
        split.clone().into_os_string(),
    ]);
    assert!(
        stdout(&status).contains("not ready to merge") && stdout(&status).contains("3-of-4"),
        "{}",
        stdout(&status)
    );
    let merge = snncc([
        "sweep".into(),
        "--merge".into(),
        split.clone().into_os_string(),
    ]);
    assert_eq!(merge.status.code(), Some(1), "{}", stderr(&merge));
    assert!(stderr(&merge).contains("3-of-4"), "{}", stderr(&merge));

    // Resubmit the lost shard, then the merge job.
    let start = Instant::now();
    let id = cluster.run(
        "sbatch",
        &["--parsable", "--array=3", script.to_str().unwrap()],
    );
    cluster.wait(&id);
    let resubmitted = start.elapsed();
    let merge_script = split.join("slurm/snncc-sweep-merge.sbatch");
    let id = cluster.run("sbatch", &["--parsable", merge_script.to_str().unwrap()]);
    cluster.wait(&id);
    let log = std::fs::read_to_string(split.join("slurm/merge.log")).unwrap_or_default();
    assert!(log.contains("wrote"), "merge job log:\n{log}");
    same_files(
        &whole,
        &split,
        &[
            "sweep.csv",
            "pareto.csv",
            "accuracy_vs_timesteps.svg",
            "accuracy_vs_memory.svg",
        ],
    );
    eprintln!(
        "sweep of 400 digits x 3 widths x 3 T: one machine {:.1} s; \
         4-shard job array {:.1} s (3 shards) + {:.1} s (the resubmitted one)",
        one_machine.as_secs_f64(),
        three_shards.as_secs_f64(),
        resubmitted.as_secs_f64()
    );

    // A co-simulation as a 2-task array, submitted by snncc itself, against
    // the same split run on one machine.
    let design = tmp.path().join("design");
    let data = fixture("mlp_flat.inputs.npy");
    build_mlp(&design);
    let cosim = |extra: &[&str]| {
        let mut c = common::snncc_command();
        c.env("SLURM_CONF", &cluster.conf)
            .arg("cosim")
            .arg(&design)
            .arg("--data")
            .arg(&data)
            .args(["--limit", "6"])
            .args(extra);
        let out = c.output().expect("snncc runs");
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    cosim(&["--jobs", "2"]);
    let one_machine = std::fs::read(design.join("cosim.json")).unwrap();
    std::fs::remove_file(design.join("cosim.json")).unwrap();
    let submitted = cosim(&["--slurm", "2", "--submit"]);
    let text = stdout(&submitted);
    let merge_id = text
        .split("merge job ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no merge job id in:\n{text}"));
    cluster.wait(merge_id);
    let log = std::fs::read_to_string(design.join("slurm/merge.log")).unwrap_or_default();
    assert!(log.contains("0 mismatches"), "merge job log:\n{log}");
    assert_eq!(
        std::fs::read(design.join("cosim.json")).unwrap(),
        one_machine,
        "the merged co-simulation differs from the one-machine run"
    );
}
