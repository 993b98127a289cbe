//! Place and route with nextpnr (iCE40 and ECP5): the routed maximum clock
//! frequency and the placed utilisation from its JSON report (`--report`),
//! or, when the design does not fit, nextpnr's reason from its log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::SynthError;

/// The outcome of one place-and-route run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Routed {
    /// The router, e.g. `nextpnr-ecp5`.
    pub router: &'static str,
    /// The part placed on, e.g. `LFE5U-45F`.
    pub device: &'static str,
    pub package: &'static str,
    /// Achieved frequency of the slowest clock after routing; `None` when
    /// placement failed (or the design has no clocked path).
    pub fmax_mhz: Option<f64>,
    /// nextpnr's name of that clock net (`$glbnet$clk$TRELLIS_IO_IN`).
    pub clock: Option<String>,
    /// Why nextpnr could not place or route the design (e.g. more DP16KD
    /// or logic cells than the part has); `None` when it could.
    pub place_error: Option<String>,
    /// Placed resources, used and available (empty when placement failed).
    pub utilization: Vec<Usage>,
    /// nextpnr's whole log.
    pub log: PathBuf,
}

/// One placed resource.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Usage {
    /// What a reader calls it: `LUT4`, `FF`, `DP16KD`, `I/O`.
    pub resource: &'static str,
    /// nextpnr's cell (bel) type, e.g. `TRELLIS_COMB`.
    pub cell: &'static str,
    pub used: u64,
    pub available: u64,
}

/// How to run nextpnr for one family and part.
pub(crate) struct Router {
    pub program: PathBuf,
    pub name: &'static str,
    pub device: &'static str,
    pub package: &'static str,
    /// Family and part options (`--45k --package CABGA381`, ...).
    pub args: Vec<String>,
    /// The resources reported, as (name, nextpnr cell type).
    pub resources: &'static [(&'static str, &'static str)],
    /// The package's user I/O pins, when nextpnr's own count is the die's
    /// (ECP5): replaces the `available` of the I/O cell type.
    pub io: Option<(&'static str, u64)>,
}

/// Resources of an ECP5 report. TRELLIS_COMB is a slice's LUT4 (logic,
/// carry or distributed RAM), the unit a part's logic capacity is counted in.
pub(crate) const ECP5_RESOURCES: &[(&str, &str)] = &[
    ("LUT4", "TRELLIS_COMB"),
    ("FF", "TRELLIS_FF"),
    ("DP16KD", "DP16KD"),
    ("MULT18X18D", "MULT18X18D"),
    ("I/O", "TRELLIS_IO"),
];

/// Resources of an iCE40 report (a logic cell is a LUT4 and a FF).
pub(crate) const ICE40_RESOURCES: &[(&str, &str)] = &[
    ("LC", "ICESTORM_LC"),
    ("RAM4K", "ICESTORM_RAM"),
    ("DSP", "ICESTORM_DSP"),
    ("I/O", "SB_IO"),
];

/// nextpnr's `--report` JSON (the parts read here).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Report {
    /// Per clock net, the frequency reached.
    #[serde(default)]
    pub fmax: BTreeMap<String, ClockFmax>,
    /// Per cell type, used and available.
    #[serde(default)]
    pub utilization: BTreeMap<String, CellUse>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ClockFmax {
    /// MHz after routing.
    pub achieved: f64,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct CellUse {
    pub used: u64,
    pub available: u64,
}

impl Report {
    /// The slowest clock, which sets the clock of a single-clock design.
    pub fn fmax(&self) -> Option<(&str, f64)> {
        self.fmax
            .iter()
            .map(|(name, f)| (name.as_str(), f.achieved))
            .filter(|(_, mhz)| mhz.is_finite() && *mhz > 0.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    fn usage(&self, router: &Router) -> Vec<Usage> {
        router
            .resources
            .iter()
            .filter_map(|&(resource, cell)| {
                let u = self.utilization.get(cell)?;
                let available = match router.io {
                    Some((io_cell, pins)) if io_cell == cell => pins,
                    _ => u.available,
                };
                Some(Usage {
                    resource,
                    cell,
                    used: u.used,
                    available,
                })
            })
            .collect()
    }
}

/// Place and route `netlist` (a file in `work`) with `router`; the log and
/// report are written to `work`.
pub(crate) fn place_and_route(
    router: &Router,
    netlist: &str,
    work: &Path,
) -> Result<Routed, SynthError> {
    let log = format!("{}.log", router.name);
    let report_name = format!("{}.report.json", router.name);
    let report_path = work.join(&report_name);
    // A failed run writes no report: an old one must not be read instead.
    let _ = std::fs::remove_file(&report_path);
    // Relative names, run from `work`: YoWASP's WebAssembly nextpnr sees
    // the working directory, but its /tmp is a private folder of its own.
    let out = crate::external::output(
        Command::new(&router.program)
            .current_dir(work)
            .args(&router.args)
            .args(["--timing-allow-fail", "--json", netlist, "--report"])
            .arg(&report_name)
            .args(["--log", &log]),
    )?;
    let log = work.join(log);
    if !out.success {
        if !out.text.lines().any(|l| l.starts_with("ERROR")) {
            // Not a verdict on the design (a crash, a kill, a bad option).
            return Err(crate::external::ToolError::Failed {
                tool: router.program.display().to_string(),
                output: format!(
                    "{}\nstopped without an error message ({}); see {}",
                    out.text.trim_end(),
                    out.status,
                    work.join(&log).display()
                ),
            }
            .into());
        }
        return Ok(Routed {
            router: router.name,
            device: router.device,
            package: router.package,
            fmax_mhz: None,
            clock: None,
            place_error: Some(place_error(&out.text, router.name)),
            utilization: Vec::new(),
            log,
        });
    }
    let text = std::fs::read_to_string(&report_path).map_err(|e| SynthError::Report {
        path: report_path.clone(),
        reason: e.to_string(),
    })?;
    let report: Report = serde_json::from_str(&text).map_err(|e| SynthError::Report {
        path: report_path.clone(),
        reason: e.to_string(),
    })?;
    let fmax = report.fmax();
    Ok(Routed {
        router: router.name,
        device: router.device,
        package: router.package,
        fmax_mhz: fmax.map(|f| f.1),
        clock: fmax.map(|f| f.0.to_string()),
        place_error: None,
        utilization: report.usage(router),
        log,
    })
}

/// nextpnr's first error, with the resources its utilisation table shows
/// over capacity ("Info:   DP16KD:  85/  56   151%"): no JSON report is
/// written when placement fails, so the log is all there is.
fn place_error(log: &str, router: &str) -> String {
    let over: Vec<String> = log
        .lines()
        .filter(|l| l.contains('%') && l.contains('/'))
        .filter(|l| {
            l.split_whitespace()
                .last()
                .and_then(|p| p.trim_end_matches('%').parse::<u32>().ok())
                .is_some_and(|p| p > 100)
        })
        .filter_map(|l| {
            let (cell, counts) = l.trim_start_matches("Info:").split_once(':')?;
            let counts: Vec<&str> = counts.split_whitespace().collect();
            let (percent, fraction) = counts.split_last()?;
            Some(format!("{} {} ({percent})", cell.trim(), fraction.concat()))
        })
        .collect();
    let first = log
        .lines()
        .find(|l| l.starts_with("ERROR"))
        .map(str::trim)
        .map_or_else(|| format!("{router} failed"), str::to_string);
    if over.is_empty() {
        first
    } else {
        format!("{first} (over capacity: {})", over.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An excerpt of nextpnr-ecp5 0.11's report for the `mlp_flat` fixture
    /// on an LFE5U-25F (CABGA381): its clock, every utilisation entry, and
    /// the first two steps of one critical path (ignored here).
    const ECP5_REPORT: &str = include_str!("testdata/nextpnr-ecp5.report.json");

    fn ecp5_router() -> Router {
        Router {
            program: PathBuf::from("nextpnr-ecp5"),
            name: "nextpnr-ecp5",
            device: "LFE5U-25F",
            package: "TQFP144",
            args: Vec::new(),
            resources: ECP5_RESOURCES,
            io: Some(("TRELLIS_IO", 98)),
        }
    }

    #[test]
    fn ecp5_report_gives_fmax_and_utilisation() {
        let report: Report = serde_json::from_str(ECP5_REPORT).unwrap();
        let (clock, mhz) = report.fmax().unwrap();
        assert_eq!(clock, "$glbnet$clk$TRELLIS_IO_IN");
        assert!((mhz - 40.846).abs() < 1e-3, "{mhz}");
        let usage = report.usage(&ecp5_router());
        let row = |r: &str| {
            let u = usage.iter().find(|u| u.resource == r).unwrap();
            (u.cell, u.used, u.available)
        };
        assert_eq!(row("LUT4"), ("TRELLIS_COMB", 7633, 24288));
        assert_eq!(row("FF"), ("TRELLIS_FF", 1435, 24288));
        assert_eq!(row("DP16KD"), ("DP16KD", 2, 56));
        assert_eq!(row("MULT18X18D"), ("MULT18X18D", 8, 28));
        // The package's pins, not the 197 I/O sites nextpnr counts.
        assert_eq!(row("I/O"), ("TRELLIS_IO", 132, 98));
    }

    #[test]
    fn the_slowest_clock_sets_fmax_and_a_report_without_clocks_has_none() {
        let report: Report = serde_json::from_str(
            r#"{"fmax": {"a": {"achieved": 80.5, "constraint": 12},
                         "b": {"achieved": 41.0, "constraint": 12}},
                "utilization": {}}"#,
        )
        .unwrap();
        assert_eq!(report.fmax(), Some(("b", 41.0)));
        let report: Report = serde_json::from_str(r#"{"utilization": {}}"#).unwrap();
        assert_eq!(report.fmax(), None);
        assert!(report.usage(&ecp5_router()).is_empty());
    }

    #[test]
    fn placement_failure_names_the_resources_over_capacity() {
        // nextpnr-ecp5 0.11 on the LeNet example, LFE5U-25F.
        let log = "Info: Device utilisation:\n\
                   Info: \t          TRELLIS_IO:     176/    197    89%\n\
                   Info: \t              DP16KD:      85/     56   151%\n\
                   Info: \t        TRELLIS_COMB:   17525/  24288    72%\n\
                   \n\
                   Info: Placed 0 cells based on constraints.\n\
                   ERROR: Unable to place cell 'layer_0.membrane.0.11', no BELs remaining to implement cell type 'DP16KD'\n\
                   0 warnings, 1 error\n";
        assert_eq!(
            place_error(log, "nextpnr-ecp5"),
            "ERROR: Unable to place cell 'layer_0.membrane.0.11', no BELs remaining to \
             implement cell type 'DP16KD' (over capacity: DP16KD 85/56 (151%))"
        );
        assert_eq!(place_error("", "nextpnr-ecp5"), "nextpnr-ecp5 failed");
    }
}
