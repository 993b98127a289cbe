//! Synthesis reports: run Yosys on a generated design for a target
//! technology, count the cells from `stat -json`, and for iCE40 place and
//! route with nextpnr for the maximum clock frequency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the design is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthTarget {
    /// Technology-independent 4-input LUTs (`synth -lut 4`).
    Generic,
    /// Lattice iCE40 (`synth_ice40`; nextpnr for Fmax on an UP5K).
    Ice40,
    /// Xilinx 7-series (`synth_xilinx`, LUT6).
    Xilinx,
}

impl SynthTarget {
    pub fn name(self) -> &'static str {
        match self {
            SynthTarget::Generic => "generic",
            SynthTarget::Ice40 => "ice40",
            SynthTarget::Xilinx => "xilinx",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(transparent)]
    Tool(#[from] crate::external::ToolError),
    #[error("{}: {reason}", path.display())]
    Stat { path: PathBuf, reason: String },
}

/// A reference part of a target family, to say whether a design fits.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Device {
    pub name: &'static str,
    pub luts: u64,
    pub ffs: u64,
    pub bram_bits: u64,
    pub dsps: u64,
}

impl SynthTarget {
    /// The part a report is checked against: the iCE40 UP5K (5,280 LUT4,
    /// 30 x 4 kbit block RAM, 8 DSP; its SPRAM is not used) and the smallest
    /// common Artix-7, the XC7A35T (20,800 LUT6, 41,600 FFs, 50 x 36 kbit
    /// block RAM, 90 DSP48E1).
    pub fn device(self) -> Option<Device> {
        match self {
            SynthTarget::Generic => None,
            SynthTarget::Ice40 => Some(Device {
                name: "iCE40 UP5K",
                luts: 5280,
                ffs: 5280,
                bram_bits: 30 * 4096,
                dsps: 8,
            }),
            SynthTarget::Xilinx => Some(Device {
                name: "Artix-7 XC7A35T",
                luts: 20_800,
                ffs: 41_600,
                bram_bits: 50 * 36_864,
                dsps: 90,
            }),
        }
    }
}

/// How much of a device a design uses.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fit {
    pub device: Device,
    /// Per resource, the fraction used (1.0 = all of it).
    pub luts: f64,
    pub ffs: f64,
    pub bram: f64,
    pub dsps: f64,
    pub fits: bool,
}

/// Resources of a synthesised design.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthReport {
    pub target: &'static str,
    /// Logic LUTs plus LUTs used as distributed RAM.
    pub luts: u64,
    pub ffs: u64,
    pub bram_blocks: u64,
    /// Capacity of the block RAM primitives used (a RAMB18 counts 18 kbit
    /// however much of it holds data); 0 for the generic target.
    pub bram_bits: u64,
    pub dsps: u64,
    /// Every cell type and its count, as Yosys reports them.
    pub cells: BTreeMap<String, u64>,
    /// iCE40 only, when nextpnr is installed and the design fits an UP5K.
    pub fmax_mhz: Option<f64>,
    /// iCE40: why nextpnr could not place and route the design on an UP5K
    /// (e.g. more logic cells or I/O pins than the sg48 package has).
    pub place_error: Option<String>,
    /// Against the target's reference part (not for the generic target).
    pub fit: Option<Fit>,
}

/// Synthesise `rtl` (top module `top`) for `target`; scratch files go to
/// `work`.
pub fn synthesize(
    rtl: &[PathBuf],
    top: &str,
    target: SynthTarget,
    work: &Path,
) -> Result<SynthReport, SynthError> {
    let stat = work.join(format!("stat_{}.json", target.name()));
    let netlist = work.join("netlist_ice40.json");
    let files: Vec<String> = rtl.iter().map(|p| p.display().to_string()).collect();
    let synth = match target {
        SynthTarget::Generic => format!("synth -top {top} -flatten -lut 4"),
        SynthTarget::Ice40 => format!("synth_ice40 -top {top} -json {}", netlist.display()),
        SynthTarget::Xilinx => format!("synth_xilinx -top {top} -flatten -noiopad"),
    };
    let script = format!(
        "read_verilog {}; {synth}; tee -q -o {} stat -json",
        files.join(" "),
        stat.display()
    );
    crate::external::run(Command::new("yosys").args(["-q", "-p", &script]))?;
    let text = std::fs::read_to_string(&stat).map_err(|e| SynthError::Stat {
        path: stat.clone(),
        reason: e.to_string(),
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| SynthError::Stat {
        path: stat.clone(),
        reason: e.to_string(),
    })?;
    let cells: BTreeMap<String, u64> = json["design"]["num_cells_by_type"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    let sum = |pred: &dyn Fn(&str) -> bool| -> u64 {
        cells.iter().filter(|(k, _)| pred(k)).map(|(_, v)| v).sum()
    };
    let (luts, ffs, bram_blocks, bram_bits, dsps) = match target {
        SynthTarget::Generic => (
            sum(&|k| k == "$lut"),
            sum(&|k| k.starts_with("$_") && k.contains("DFF")),
            sum(&|k| k.starts_with("$mem")),
            0,
            sum(&|k| k == "$mul"),
        ),
        SynthTarget::Ice40 => (
            sum(&|k| k == "SB_LUT4"),
            sum(&|k| k.starts_with("SB_DFF")),
            sum(&|k| k == "SB_RAM40_4K"),
            4096 * sum(&|k| k == "SB_RAM40_4K"),
            sum(&|k| k == "SB_MAC16"),
        ),
        SynthTarget::Xilinx => (
            // RAM32M/RAM64M are four LUTs of a SLICEM each.
            sum(&|k| k.starts_with("LUT")) + 4 * sum(&|k| k == "RAM32M" || k == "RAM64M"),
            sum(&|k| k.starts_with("FD")),
            sum(&|k| k.starts_with("RAMB")),
            18_432 * sum(&|k| k.starts_with("RAMB18")) + 36_864 * sum(&|k| k.starts_with("RAMB36")),
            sum(&|k| k.starts_with("DSP")),
        ),
    };
    let fit = target.device().map(|device| {
        let frac = |used: u64, have: u64| used as f64 / have as f64;
        let (l, f, b, d) = (
            frac(luts, device.luts),
            frac(ffs, device.ffs),
            frac(bram_bits, device.bram_bits),
            frac(dsps, device.dsps),
        );
        Fit {
            device,
            luts: l,
            ffs: f,
            bram: b,
            dsps: d,
            fits: l <= 1.0 && f <= 1.0 && b <= 1.0 && d <= 1.0,
        }
    });
    let (fmax_mhz, place_error) = match target {
        SynthTarget::Ice40 => ice40_fmax(&netlist),
        _ => (None, None),
    };
    // Placement is the last word on fitting: a LUT count under the limit
    // can still overflow the logic cells once carries are packed.
    let fit = fit.map(|mut f| {
        if place_error.is_some() {
            f.fits = false;
        }
        f
    });
    Ok(SynthReport {
        target: target.name(),
        luts,
        ffs,
        bram_blocks,
        bram_bits,
        dsps,
        cells,
        fmax_mhz,
        place_error,
        fit,
    })
}

/// nextpnr's maximum frequency of the clock on an iCE40 UP5K (the last,
/// post-routing estimate), or the error that stopped placement; neither
/// when nextpnr is not installed.
fn ice40_fmax(netlist: &Path) -> (Option<f64>, Option<String>) {
    let Ok(out) = Command::new("nextpnr-ice40")
        .args([
            "--up5k",
            "--package",
            "sg48",
            "--pcf-allow-unconstrained",
            "--timing-allow-fail",
            "--json",
        ])
        .arg(netlist)
        .output()
    else {
        return (None, None);
    };
    let text = String::from_utf8_lossy(&out.stderr);
    let fmax = text
        .lines()
        .rev()
        .find(|l| l.contains("Max frequency for clock"))
        // "Info: Max frequency for clock 'clk...': 18.70 MHz (PASS at ...)"
        .and_then(|l| {
            l.rsplit_once("': ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        });
    let error = (!out.status.success()).then(|| {
        let over: Vec<&str> = text
            .lines()
            .filter(|l| l.contains('%') && l.contains('/'))
            .filter(|l| {
                l.split_whitespace()
                    .last()
                    .and_then(|p| p.trim_end_matches('%').parse::<u32>().ok())
                    .is_some_and(|p| p > 100)
            })
            .map(|l| l.trim_start_matches("Info:").trim())
            .collect();
        let first = text
            .lines()
            .find(|l| l.starts_with("ERROR"))
            .unwrap_or("nextpnr-ice40 failed")
            .trim();
        if over.is_empty() {
            first.to_string()
        } else {
            format!("{first} (over capacity: {})", over.join(", "))
        }
    });
    (fmax, error)
}
