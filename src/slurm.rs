//! Slurm batch scripts for sharded work: a job array whose task K runs
//! shard K of N (`--shard $SLURM_ARRAY_TASK_ID/N`) and a merge job that
//! runs after every task has ended, and submitting them with `sbatch`.
//! snncc schedules nothing itself: the cluster's scheduler does.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sbatch could not be run ({source}); is Slurm installed and SLURM_CONF set? The scripts are in {}", dir.display())]
    NoSbatch {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("sbatch {} failed: {stderr}", script.display())]
    Refused { script: PathBuf, stderr: String },
}

/// What the jobs run and how.
#[derive(Debug, Clone)]
pub struct Jobs {
    /// `snncc-sweep`, `snncc-cosim`: the job names.
    pub name: String,
    pub shards: usize,
    pub cpus_per_task: usize,
    /// Further `#SBATCH` options, verbatim (`--time=02:00:00`).
    pub options: Vec<String>,
    /// Where the jobs start (relative paths in the commands are from here).
    pub workdir: PathBuf,
    /// Where the scripts and the jobs' logs go.
    pub dir: PathBuf,
    /// A shard's command, without its `--shard`.
    pub shard_command: Vec<OsString>,
    pub merge_command: Vec<OsString>,
}

/// The two scripts written.
#[derive(Debug, Clone)]
pub struct Scripts {
    pub array: PathBuf,
    pub merge: PathBuf,
}

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &OsStr) -> String {
    let s = s.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return s.into_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn command_line(words: &[OsString]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Jobs {
    fn header(&self, job: &str, log: &str, cpus: usize) -> String {
        let mut text = format!(
            "#!/bin/bash\n# Written by snncc; submit with sbatch (or snncc ... --slurm N --submit).\n\
             #SBATCH --job-name={job}\n#SBATCH --chdir={}\n#SBATCH --output={}\n\
             #SBATCH --cpus-per-task={cpus}\n#SBATCH --ntasks=1\n",
            shell_quote(self.workdir.as_os_str()),
            shell_quote(self.dir.join(log).as_os_str()),
        );
        for o in &self.options {
            text.push_str(&format!("#SBATCH {o}\n"));
        }
        text
    }

    /// The job array: task K runs shard K of N.
    pub fn array_script(&self) -> String {
        let mut text = self.header(&self.name, "shard-%a.log", self.cpus_per_task);
        text.push_str(&format!("#SBATCH --array=1-{}\n", self.shards));
        text.push_str(&format!(
            "set -euo pipefail\nexec {} --shard \"$SLURM_ARRAY_TASK_ID/{}\"\n",
            command_line(&self.shard_command),
            self.shards
        ));
        text
    }

    /// The merge: refuses (naming them) shards that failed or were killed.
    pub fn merge_script(&self) -> String {
        let mut text = self.header(&format!("{}-merge", self.name), "merge.log", 1);
        text.push_str(&format!(
            "set -euo pipefail\nexec {}\n",
            command_line(&self.merge_command)
        ));
        text
    }

    /// Write both scripts into `dir`.
    pub fn write(&self) -> Result<Scripts, SlurmError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SlurmError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let scripts = Scripts {
            array: self.dir.join(format!("{}.sbatch", self.name)),
            merge: self.dir.join(format!("{}-merge.sbatch", self.name)),
        };
        std::fs::write(&scripts.array, self.array_script()).map_err(io(&scripts.array))?;
        std::fs::write(&scripts.merge, self.merge_script()).map_err(io(&scripts.merge))?;
        Ok(scripts)
    }
}

/// Submit `script` (after every task of job `after` has ended, whatever
/// its result, so the merge can name the shards that failed); its job id.
pub fn submit(script: &Path, after: Option<&str>) -> Result<String, SlurmError> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if let Some(id) = after {
        cmd.arg(format!("--dependency=afterany:{id}"));
    }
    let out = cmd
        .arg(script)
        .output()
        .map_err(|source| SlurmError::NoSbatch {
            dir: script.parent().unwrap_or(Path::new(".")).into(),
            source,
        })?;
    if !out.status.success() {
        return Err(SlurmError::Refused {
            script: script.into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    // `--parsable` prints "id" or "id;cluster".
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.trim().split(';').next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Jobs {
        Jobs {
            name: "snncc-sweep".into(),
            shards: 4,
            cpus_per_task: 2,
            options: vec!["--time=01:00:00".into()],
            workdir: "/home/me/run dir".into(),
            dir: "/home/me/run dir/out/slurm".into(),
            shard_command: vec!["/opt/snncc".into(), "sweep".into(), "m.keras".into()],
            merge_command: vec![
                "/opt/snncc".into(),
                "sweep".into(),
                "--merge".into(),
                "out".into(),
            ],
        }
    }

    #[test]
    fn array_script_takes_the_shard_from_the_task_id() {
        let s = jobs().array_script();
        assert!(s.starts_with("#!/bin/bash\n"), "{s}");
        for line in [
            "#SBATCH --array=1-4",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --time=01:00:00",
            "#SBATCH --chdir='/home/me/run dir'",
            "#SBATCH --output='/home/me/run dir/out/slurm/shard-%a.log'",
            "exec /opt/snncc sweep m.keras --shard \"$SLURM_ARRAY_TASK_ID/4\"",
        ] {
            assert!(s.lines().any(|l| l == line), "{line} not in\n{s}");
        }
        let m = jobs().merge_script();
        assert!(
            m.lines().any(|l| l == "exec /opt/snncc sweep --merge out"),
            "{m}"
        );
        assert!(!m.contains("--array"), "{m}");
    }

    #[test]
    fn quoting_survives_the_shell() {
        assert_eq!(shell_quote(OsStr::new("a b")), "'a b'");
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
        assert_eq!(shell_quote(OsStr::new("")), "''");
        assert_eq!(shell_quote(OsStr::new("--bits=4,8")), "--bits=4,8");
        assert_eq!(shell_quote(OsStr::new("$HOME")), "'$HOME'");
    }
}
