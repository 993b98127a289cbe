//! Synthesis reports: run Yosys on a generated design for a target
//! technology, count the cells from `stat -json`, and for iCE40 and ECP5
//! place and route with nextpnr for the routed maximum clock frequency and
//! the placed utilisation.

mod clock;
mod ecp5;
mod nextpnr;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use clock::{choose_clock, Clock, ClockSource, Throughput};
pub use ecp5::{Ecp5Part, Ecp5Size};
pub use nextpnr::{Routed, Usage};

/// Where the design is mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynthTarget {
    /// Technology-independent 4-input LUTs (`synth -lut 4`).
    Generic,
    /// Lattice iCE40 (`synth_ice40`; nextpnr-ice40 on an UP5K, sg48).
    Ice40,
    /// Xilinx 7-series (`synth_xilinx`, LUT6); no open router.
    Xilinx,
    /// Lattice ECP5 (`synth_ecp5`; nextpnr-ecp5 on the part).
    Ecp5(Ecp5Part),
}

impl SynthTarget {
    pub fn name(self) -> &'static str {
        match self {
            SynthTarget::Generic => "generic",
            SynthTarget::Ice40 => "ice40",
            SynthTarget::Xilinx => "xilinx",
            SynthTarget::Ecp5(_) => "ecp5",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error(transparent)]
    Tool(#[from] crate::external::ToolError),
    #[error("{}: {reason}", path.display())]
    Stat { path: PathBuf, reason: String },
    #[error("{}: not a nextpnr report: {reason}", path.display())]
    Report { path: PathBuf, reason: String },
    #[error(
        "package {package} is not one nextpnr-ecp5 knows for the {part}; it comes in {packages}"
    )]
    UnknownPackage {
        package: String,
        part: &'static str,
        packages: String,
    },
}

/// A reference part of a target family, to say whether a design fits.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Device {
    pub name: &'static str,
    /// The package whose pins the ports must fit, where it is checked.
    pub package: Option<&'static str>,
    pub luts: u64,
    pub ffs: u64,
    pub bram_bits: u64,
    pub dsps: u64,
    /// User I/O pins of the package, where it is checked.
    pub io_pins: Option<u64>,
}

impl SynthTarget {
    /// The part a report is checked against: the iCE40 UP5K (5,280 LUT4,
    /// 30 x 4 kbit block RAM, 8 DSP; its SPRAM is not used), the smallest
    /// common Artix-7, the XC7A35T (20,800 LUT6, 41,600 FFs, 50 x 36 kbit
    /// block RAM, 90 DSP48E1), and the chosen ECP5 part.
    pub fn device(self) -> Option<Device> {
        match self {
            SynthTarget::Generic => None,
            SynthTarget::Ice40 => Some(Device {
                name: "iCE40 UP5K",
                package: None,
                luts: 5280,
                ffs: 5280,
                bram_bits: 30 * 4096,
                dsps: 8,
                io_pins: None,
            }),
            SynthTarget::Xilinx => Some(Device {
                name: "Artix-7 XC7A35T",
                package: None,
                luts: 20_800,
                ffs: 41_600,
                bram_bits: 50 * 36_864,
                dsps: 90,
                io_pins: None,
            }),
            SynthTarget::Ecp5(part) => Some(part.device()),
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
    /// Placed I/O ports over the package's pins, where checked.
    pub io: Option<f64>,
    pub fits: bool,
}

/// Resources of a synthesised design.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthReport {
    pub target: &'static str,
    /// Logic LUTs plus LUTs used as distributed RAM (and, for ECP5, carry
    /// logic: nextpnr's "Total LUT4s" before packing).
    pub luts: u64,
    pub ffs: u64,
    pub bram_blocks: u64,
    /// Capacity of the block RAM primitives used (a RAMB18 counts 18 kbit
    /// however much of it holds data); 0 for the generic target.
    pub bram_bits: u64,
    pub dsps: u64,
    /// Every cell type and its count, as Yosys reports them.
    pub cells: BTreeMap<String, u64>,
    /// The place-and-route run (iCE40, ECP5).
    pub routed: Option<Routed>,
    /// Against the target's reference part (not for the generic target).
    pub fit: Option<Fit>,
}

/// Synthesise `rtl` (top module `top`) of the build folder `root` (Yosys
/// runs there: the memory images' paths are relative to it) for `target`;
/// scratch files, the netlist and nextpnr's log go to `work`. `progress` is
/// told each stage as it starts (place and route takes minutes on a
/// LeNet-sized design).
pub fn synthesize(
    root: &Path,
    rtl: &[PathBuf],
    top: &str,
    target: SynthTarget,
    work: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<SynthReport, SynthError> {
    // Find the router before spending a minute in Yosys.
    let router = match target {
        SynthTarget::Ice40 => Some(nextpnr::Router {
            program: PathBuf::from("nextpnr-ice40"),
            name: "nextpnr-ice40",
            device: "iCE40 UP5K",
            package: "sg48",
            args: ["--up5k", "--package", "sg48", "--pcf-allow-unconstrained"]
                .map(String::from)
                .to_vec(),
            resources: nextpnr::ICE40_RESOURCES,
            io: None,
        }),
        SynthTarget::Ecp5(part) => Some(nextpnr::Router {
            program: crate::external::locate_nextpnr_ecp5()?,
            name: "nextpnr-ecp5",
            device: part.size.part(),
            package: part.package(),
            // No pin constraints: ports go wherever the placer puts them.
            args: [
                part.size.nextpnr_flag(),
                "--package",
                part.package(),
                "--lpf-allow-unconstrained",
            ]
            .map(String::from)
            .to_vec(),
            resources: nextpnr::ECP5_RESOURCES,
            io: Some(("TRELLIS_IO", part.io_pins())),
        }),
        SynthTarget::Generic | SynthTarget::Xilinx => None,
    };
    // Absolute names: Yosys runs in `root`.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let work = &absolute(work);
    let stat = work.join(format!("stat_{}.json", target.name()));
    let netlist_name = format!("netlist_{}.json", target.name());
    let netlist = work.join(&netlist_name);
    let files: Vec<String> = rtl
        .iter()
        .map(|p| absolute(p).display().to_string())
        .collect();
    let synth = match target {
        SynthTarget::Generic => format!("synth -top {top} -flatten -lut 4"),
        SynthTarget::Ice40 => format!("synth_ice40 -top {top} -json {}", netlist.display()),
        SynthTarget::Xilinx => format!("synth_xilinx -top {top} -flatten -noiopad"),
        SynthTarget::Ecp5(_) => format!("synth_ecp5 -top {top} -json {}", netlist.display()),
    };
    // On an ECP5 the analog layer's multipliers are MULT18X18D instances
    // with their output register (hw/snn_mul_reg.v): Yosys would leave the
    // register in the fabric, two routes from the DSP. Memories of at most
    // 8 kbit go to distributed RAM (hw/snn_layer.v), as build's block-RAM
    // estimate counts them, instead of some of them taking a DP16KD each.
    let defines = match target {
        SynthTarget::Ecp5(_) => "-DSNNCC_ECP5_DSP -DSNNCC_LUTRAM ",
        _ => "",
    };
    let script = format!(
        "read_verilog {defines}{}; {synth}; tee -q -o {} stat -json",
        files.join(" "),
        stat.display()
    );
    progress(&format!(
        "yosys: {}",
        synth.split(' ').next().unwrap_or("synth")
    ));
    crate::external::run(
        Command::new("yosys")
            .args(["-q", "-p", &script])
            .current_dir(root),
    )?;
    let cells = read_stat(&stat)?;
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
        SynthTarget::Ecp5(_) => (
            // As nextpnr-ecp5 counts LUT4s before packing: a CCU2C carry is
            // two, a TRELLIS_DPR16X4 (16x4 distributed RAM) four RAM LUTs
            // and two for its write port.
            sum(&|k| k == "LUT4")
                + 2 * sum(&|k| k == "CCU2C")
                + 6 * sum(&|k| k == "TRELLIS_DPR16X4"),
            sum(&|k| k == "TRELLIS_FF"),
            sum(&|k| k == "DP16KD"),
            18_432 * sum(&|k| k == "DP16KD"),
            sum(&|k| k == "MULT18X18D"),
        ),
    };
    let routed = match &router {
        Some(router) => {
            progress(&format!(
                "{} on the {} {} (log: {})",
                router.name,
                router.device,
                router.package,
                work.join(format!("{}.log", router.name)).display()
            ));
            Some(nextpnr::place_and_route(router, &netlist_name, work)?)
        }
        None => None,
    };
    let fit = target.device().map(|device| {
        let frac = |used: u64, have: u64| used as f64 / have as f64;
        let io = device.io_pins.and_then(|pins| {
            let placed = routed
                .as_ref()?
                .utilization
                .iter()
                .find(|u| u.resource == "I/O")?;
            Some(frac(placed.used, pins))
        });
        let (l, f, b, d) = (
            frac(luts, device.luts),
            frac(ffs, device.ffs),
            frac(bram_bits, device.bram_bits),
            frac(dsps, device.dsps),
        );
        // Placement is the last word on fitting: a LUT count under the
        // limit can still overflow the logic cells once carries are packed.
        let placed = routed.as_ref().is_none_or(|r| r.place_error.is_none());
        Fit {
            device,
            luts: l,
            ffs: f,
            bram: b,
            dsps: d,
            io,
            fits: placed
                && l <= 1.0
                && f <= 1.0
                && b <= 1.0
                && d <= 1.0
                && io.is_none_or(|io| io <= 1.0),
        }
    });
    Ok(SynthReport {
        target: target.name(),
        luts,
        ffs,
        bram_blocks,
        bram_bits,
        dsps,
        cells,
        routed,
        fit,
    })
}

/// Yosys `stat -json`: the number of cells of each type.
#[derive(serde::Deserialize)]
struct Stat {
    design: StatDesign,
}

#[derive(serde::Deserialize)]
struct StatDesign {
    #[serde(default)]
    num_cells_by_type: BTreeMap<String, u64>,
}

fn read_stat(path: &Path) -> Result<BTreeMap<String, u64>, SynthError> {
    let err = |reason: String| SynthError::Stat {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let stat: Stat = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    Ok(stat.design.num_cells_by_type)
}
