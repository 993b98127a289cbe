//! Co-simulation: compile a generated design's testbench under an RTL
//! simulator, run it (in parallel parts over the inputs) and compare what it
//! prints with the bit-accurate simulator's values: the read-out values per
//! input and, with a trace, every layer's spikes per time step, naming the
//! first difference.

mod compare;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::external::run as tool;
pub use crate::external::ToolError as CosimError;
pub use compare::{compare, compare_trace, CosimReport, Mismatch, TraceMismatch};

/// How to compile a testbench.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileOptions {
    /// Dump waveforms when run with `+vcd`.
    pub waves: bool,
    /// Print every spike entry (`SNNCC_TRACE`).
    pub trace: bool,
}

/// A compiled simulation, run as often as needed with different plusargs.
#[derive(Debug, Clone)]
pub struct Compiled {
    program: PathBuf,
    args: Vec<OsString>,
    /// The build folder, the working directory of a run (the memory
    /// images' paths are relative to it).
    root: PathBuf,
}

impl Compiled {
    /// Run with `plusargs` (`first=0`, ...); the printed output. A failing
    /// testbench (`$fatal`) is an error holding its output.
    pub fn run(&self, plusargs: &[String]) -> Result<String, CosimError> {
        tool(
            Command::new(&self.program)
                .args(&self.args)
                .args(plusargs.iter().map(|p| format!("+{p}")))
                .current_dir(&self.root),
        )
    }

    /// Run over inputs `first..first + count` (`+first`, `+count`, then
    /// `extra`); the printed output. A testbench that failed still gives
    /// its output when it compared something (the comparison names the
    /// problem); a simulator that could not run is an error.
    pub fn run_inputs(
        &self,
        first: usize,
        count: usize,
        extra: &[String],
    ) -> Result<String, CosimError> {
        let mut args = vec![format!("first={first}"), format!("count={count}")];
        args.extend(extra.iter().cloned());
        match self.run(&args) {
            Err(CosimError::Failed { output, .. }) if output.contains("IMAGE ") => Ok(output),
            other => other,
        }
    }

    /// Run over inputs `0..images` in `jobs` parts at once (`split`); the
    /// parts' outputs in input order (see `run_inputs`).
    pub fn run_parts(
        &self,
        images: usize,
        jobs: usize,
        extra: &[String],
    ) -> Result<String, CosimError> {
        let parts: Vec<(usize, usize)> = split(images, jobs.clamp(1, images.max(1)))
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .collect();
        let outputs: Vec<Result<String, CosimError>> = std::thread::scope(|s| {
            let handles: Vec<_> = parts
                .iter()
                .map(|&(first, count)| s.spawn(move || self.run_inputs(first, count, extra)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a simulator thread does not panic"))
                .collect()
        });
        outputs.into_iter().collect()
    }
}

/// Inputs `0..images` in `parts` runs of consecutive inputs, as (first,
/// count), the last ones empty when there are more parts than inputs:
/// `run_parts`' split, and a sharded co-simulation's, so that the shards of
/// `--shard K/N` are exactly the parts of a `--jobs N` run.
pub fn split(images: usize, parts: usize) -> Vec<(usize, usize)> {
    let per = images.div_ceil(parts.clamp(1, images.max(1)));
    (0..parts)
        .map(|j| {
            let first = (j * per).min(images);
            (first, per.min(images - first))
        })
        .collect()
}

/// An RTL simulator that can compile a testbench (top module `tb`).
pub trait RtlSimulator: Sync {
    fn name(&self) -> &'static str;
    /// Compile `tb` with `sources` in `work` (absolute), to run in the
    /// build folder `root`.
    fn compile(
        &self,
        root: &Path,
        work: &Path,
        tb: &Path,
        sources: &[PathBuf],
        options: CompileOptions,
    ) -> Result<Compiled, CosimError>;
}

/// Icarus Verilog 11 (`iverilog -g2005`, `vvp`).
pub struct Icarus;

impl RtlSimulator for Icarus {
    fn name(&self) -> &'static str {
        "iverilog"
    }

    fn compile(
        &self,
        root: &Path,
        work: &Path,
        tb: &Path,
        sources: &[PathBuf],
        options: CompileOptions,
    ) -> Result<Compiled, CosimError> {
        let sim = work.join("tb.vvp");
        tool(
            Command::new("iverilog")
                .args(["-g2005", "-s", "tb", "-o"])
                .arg(&sim)
                .args(options.trace.then_some("-DSNNCC_TRACE"))
                .arg(tb)
                .args(sources),
        )?;
        Ok(Compiled {
            program: "vvp".into(),
            args: vec!["-n".into(), sim.into()],
            root: root.to_path_buf(),
        })
    }
}

/// Verilator 5 (`--binary --timing`; the testbench is its own main, so no
/// C++ harness is needed).
pub struct Verilator;

impl RtlSimulator for Verilator {
    fn name(&self) -> &'static str {
        "verilator"
    }

    fn compile(
        &self,
        root: &Path,
        work: &Path,
        tb: &Path,
        sources: &[PathBuf],
        options: CompileOptions,
    ) -> Result<Compiled, CosimError> {
        let obj = work.join("obj_dir");
        tool(
            Command::new("verilator")
                .args([
                    "--binary",
                    "--timing",
                    "-Wno-fatal",
                    "-O3",
                    "--x-assign",
                    "fast",
                    "--top-module",
                    "tb",
                    "-Mdir",
                ])
                .arg(&obj)
                .args(options.waves.then_some("--trace"))
                .args(options.trace.then_some("-DSNNCC_TRACE"))
                .arg(tb)
                .args(sources),
        )?;
        Ok(Compiled {
            program: obj.join("Vtb"),
            args: Vec::new(),
            root: root.to_path_buf(),
        })
    }
}
