//! Co-simulation: run a generated design's testbench under an RTL
//! simulator and compare what it prints with the bit-accurate simulator's
//! values, naming the first difference.

use std::path::{Path, PathBuf};
use std::process::Command;

pub use crate::external::ToolError as CosimError;

/// An RTL simulator that can build and run a testbench (top module `tb`).
pub trait RtlSimulator {
    fn name(&self) -> &'static str;
    /// Compile `tb` with `sources` in `work` and run it (with `+vcd`
    /// when `waves`); its printed output.
    fn run(
        &self,
        work: &Path,
        tb: &Path,
        sources: &[PathBuf],
        waves: bool,
    ) -> Result<String, CosimError>;
}

use crate::external::run as tool;

/// Icarus Verilog 11 (`iverilog -g2005`, `vvp`).
pub struct Icarus;

impl RtlSimulator for Icarus {
    fn name(&self) -> &'static str {
        "iverilog"
    }

    fn run(
        &self,
        work: &Path,
        tb: &Path,
        sources: &[PathBuf],
        waves: bool,
    ) -> Result<String, CosimError> {
        let sim = work.join("tb.vvp");
        tool(
            Command::new("iverilog")
                .args(["-g2005", "-s", "tb", "-o"])
                .arg(&sim)
                .arg(tb)
                .args(sources),
        )?;
        tool(
            Command::new("vvp")
                .arg("-n")
                .arg(&sim)
                .args(waves.then_some("+vcd")),
        )
    }
}

/// Verilator 5 (`--binary --timing`).
pub struct Verilator;

impl RtlSimulator for Verilator {
    fn name(&self) -> &'static str {
        "verilator"
    }

    fn run(
        &self,
        work: &Path,
        tb: &Path,
        sources: &[PathBuf],
        waves: bool,
    ) -> Result<String, CosimError> {
        let obj = work.join("obj_dir");
        tool(
            Command::new("verilator")
                .args([
                    "--binary",
                    "--timing",
                    "-Wno-fatal",
                    "--top-module",
                    "tb",
                    "-Mdir",
                ])
                .arg(&obj)
                .args(waves.then_some("--trace"))
                .arg(tb)
                .args(sources),
        )?;
        tool(Command::new(obj.join("Vtb")).args(waves.then_some("+vcd")))
    }
}

/// The first value that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub image: usize,
    pub neuron: usize,
    pub rtl: Option<i64>,
    pub expected: i64,
}

/// What a co-simulation found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CosimReport {
    pub images: usize,
    pub mismatches: usize,
    pub first_mismatch: Option<Mismatch>,
    /// Mean clock cycles from `start` to `done`.
    pub cycles_per_image: f64,
}

/// Compare the testbench's `OUT image neuron value` lines with `expected`
/// (per image, the readout's raw potentials); `CYCLES image n` lines give
/// the latency. A value the testbench never printed counts as a mismatch.
pub fn compare(output: &str, expected: &[Vec<i64>]) -> CosimReport {
    let mut got: Vec<Vec<Option<i64>>> = expected.iter().map(|e| vec![None; e.len()]).collect();
    let mut cycles = Vec::new();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["OUT", img, n, v] => {
                if let (Ok(img), Ok(n), Ok(v)) =
                    (img.parse::<usize>(), n.parse::<usize>(), v.parse::<i64>())
                {
                    if let Some(slot) = got.get_mut(img).and_then(|g| g.get_mut(n)) {
                        *slot = Some(v);
                    }
                }
            }
            ["CYCLES", _, c] => {
                if let Ok(c) = c.parse::<u64>() {
                    cycles.push(c);
                }
            }
            _ => {}
        }
    }
    let mut mismatches = 0;
    let mut first = None;
    for (image, (g, e)) in got.iter().zip(expected).enumerate() {
        for (neuron, (&rtl, &expected)) in g.iter().zip(e).enumerate() {
            if rtl != Some(expected) {
                mismatches += 1;
                first.get_or_insert(Mismatch {
                    image,
                    neuron,
                    rtl,
                    expected,
                });
            }
        }
    }
    CosimReport {
        images: expected.len(),
        mismatches,
        first_mismatch: first,
        cycles_per_image: if cycles.is_empty() {
            0.0
        } else {
            cycles.iter().sum::<u64>() as f64 / cycles.len() as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_the_first_difference_and_missing_values() {
        let out = "CYCLES 0 100\nOUT 0 0 5\nOUT 0 1 -3\nCYCLES 1 120\nOUT 1 0 7\n";
        let r = compare(out, &[vec![5, -3], vec![7, 9]]);
        assert_eq!(r.mismatches, 1);
        assert_eq!(
            r.first_mismatch,
            Some(Mismatch {
                image: 1,
                neuron: 1,
                rtl: None,
                expected: 9
            })
        );
        assert_eq!(r.cycles_per_image, 110.0);
        let r = compare(out, &[vec![5, -4], vec![7]]);
        assert_eq!(r.first_mismatch.unwrap().rtl, Some(-3));
    }
}
