//! `--slurm N [--submit]` on `sweep` and `cosim`: this command line, less
//! the Slurm flags, as a job array of N shards and a merge job.

use std::ffi::OsString;
use std::path::Path;

use anyhow::Context;
use snncc::slurm::{self, Jobs};

use super::SlurmFlags;

/// Flags that take a value and belong to the submission, not to a shard.
const VALUED: [&str; 4] = ["--slurm", "--cpus-per-task", "--sbatch", "--shard"];

/// The command line this process was started with, less the Slurm flags.
fn shard_command() -> anyhow::Result<Vec<OsString>> {
    let exe = std::env::current_exe().context("finding the snncc executable")?;
    let mut words = vec![exe.into_os_string()];
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        let text = a.to_string_lossy();
        if text == "--submit" || VALUED.iter().any(|f| text.starts_with(&format!("{f}="))) {
            continue;
        }
        if VALUED.contains(&text.as_ref()) {
            args.next();
            continue;
        }
        words.push(a);
    }
    Ok(words)
}

/// Write (and with `--submit`, submit) the job array for `what` (`sweep`
/// or `cosim`) whose results go to `out`; `merge` is the merge command's
/// arguments after `snncc`.
pub fn emit(
    flags: &SlurmFlags,
    shards: usize,
    what: &str,
    out: &Path,
    merge: &[&str],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = std::fs::canonicalize(out)?;
    let shard_command = shard_command()?;
    let mut merge_command = vec![shard_command[0].clone()];
    merge_command.extend(merge.iter().map(OsString::from));
    merge_command.push(out.clone().into_os_string());
    let jobs = Jobs {
        name: format!("snncc-{what}"),
        shards,
        cpus_per_task: flags.cpus_per_task.get(),
        options: flags.sbatch.clone(),
        workdir: std::env::current_dir()?,
        dir: out.join("slurm"),
        shard_command,
        merge_command,
    };
    let scripts = jobs.write()?;
    println!(
        "wrote {} (a job array of {shards} shards) and {} (the merge)",
        scripts.array.display(),
        scripts.merge.display()
    );
    if flags.submit {
        let array = slurm::submit(&scripts.array, None)?;
        let merge = slurm::submit(&scripts.merge, Some(&array))?;
        println!(
            "submitted job array {array} and merge job {merge} (runs after the array; \
             `snncc {what} --status {}` shows progress)",
            out.display()
        );
    } else {
        println!(
            "submit with: sbatch {} && sbatch --dependency=afterany:<array job id> {}",
            scripts.array.display(),
            scripts.merge.display()
        );
    }
    Ok(())
}
