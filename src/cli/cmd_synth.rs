//! `snncc synth OUT [--target generic|ice40|xilinx] [--json]`: resources
//! of a built design, and its latency with the cycles cosim measured.

use anyhow::{bail, Context};
use serde_json::json;
use snncc::report::Table;
use snncc::synth::{self, SynthTarget};

use super::{SynthArgs, SynthTargetArg};

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    if !(args.clock_mhz.is_finite() && args.clock_mhz > 0.0) {
        bail!("--clock-mhz must be a positive number");
    }
    let dir = &args.design;
    let built = super::built::Built::read(dir)?;
    let top = built.field("top")?.as_str().context("top is not a name")?;
    let rtl = &built.rtl;
    let target = match args.target {
        SynthTargetArg::Generic => SynthTarget::Generic,
        SynthTargetArg::Ice40 => SynthTarget::Ice40,
        SynthTargetArg::Xilinx => SynthTarget::Xilinx,
    };
    let work = dir.join("synth");
    std::fs::create_dir_all(&work)?;
    let report = synth::synthesize(rtl, top, target, &work)?;
    let cycles = std::fs::read_to_string(dir.join("cosim.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["cycles_per_image"].as_f64())
        .filter(|&c| c > 0.0);
    let images_per_s = cycles.map(|c| args.clock_mhz * 1e6 / c);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "target": report.target,
                "luts": report.luts,
                "ffs": report.ffs,
                "bram_blocks": report.bram_blocks,
                "bram_bits": report.bram_bits,
                "dsps": report.dsps,
                "fit": report.fit,
                "fmax_mhz": report.fmax_mhz,
                "place_error": report.place_error,
                "cycles_per_image": cycles,
                "clock_mhz": args.clock_mhz,
                "latency_us": cycles.map(|c| c / args.clock_mhz),
                "images_per_s": images_per_s,
                "cells": report.cells,
            }))?
        );
        return Ok(());
    }
    let mut table = Table::new(["target", "LUTs", "FFs", "BRAM blocks", "DSPs", "Fmax"]);
    table.row([
        report.target.to_string(),
        report.luts.to_string(),
        report.ffs.to_string(),
        report.bram_blocks.to_string(),
        report.dsps.to_string(),
        report
            .fmax_mhz
            .map_or("-".into(), |f| format!("{f:.1} MHz (UP5K)")),
    ]);
    println!("{top}:\n{}", table.render());
    if let Some(e) = &report.place_error {
        println!("nextpnr (UP5K, sg48): {e}");
    }
    if let Some(fit) = &report.fit {
        println!(
            "{} {}: LUTs {:.0} %, FFs {:.0} %, block RAM {:.0} % ({} kbit), DSPs {:.0} %",
            if fit.fits {
                "fits the"
            } else {
                "does NOT fit the"
            },
            fit.device.name,
            100.0 * fit.luts,
            100.0 * fit.ffs,
            100.0 * fit.bram,
            report.bram_bits / 1024,
            100.0 * fit.dsps
        );
    }
    match (cycles, images_per_s) {
        (Some(c), Some(r)) => println!(
            "{c:.0} cycles per input (from cosim.json): {:.1} us and {r:.0} inputs/s at {} MHz",
            c / args.clock_mhz,
            args.clock_mhz
        ),
        _ => println!("run snncc cosim first for latency and throughput"),
    }
    Ok(())
}
