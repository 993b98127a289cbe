//! `snncc synth OUT [--target generic|ice40|xilinx|ecp5] [--json]`:
//! resources of a built design, its routed clock, and its latency with the
//! cycles cosim measured.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::json;
use snncc::report::{thousands, Table};
use snncc::synth::{self, Clock, ClockSource, Ecp5Part, Ecp5Size, SynthReport, SynthTarget};

use super::{Ecp5SizeArg, SynthArgs, SynthTargetArg};

pub fn run(args: &SynthArgs) -> anyhow::Result<()> {
    if let Some(mhz) = args.clock_mhz {
        if !(mhz.is_finite() && mhz > 0.0) {
            bail!("--clock-mhz must be a positive number");
        }
    }
    let target = target(args)?;
    let dir = &args.design;
    let manifest = snncc::codegen::Manifest::read(dir)?;
    let top = manifest.top.as_str();
    let cycles = cycles_per_image(dir)?;
    let work = dir.join("synth");
    std::fs::create_dir_all(&work)?;
    let spinner = super::progress::spinner();
    let report = synth::synthesize(
        dir,
        &manifest.rtl_paths(dir),
        top,
        target,
        &work,
        &mut |stage| spinner.set_message(stage.to_string()),
    );
    spinner.finish_and_clear();
    let report = report?;
    let clock = synth::choose_clock(args.clock_mhz, report.routed.as_ref());
    let throughput = clock.as_ref().zip(cycles).map(|(c, n)| c.throughput(n));
    if args.json {
        let routed = report.routed.as_ref();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "target": report.target,
                "device": report.fit.as_ref().map(|f| f.device.name),
                "package": report.fit.as_ref().and_then(|f| f.device.package),
                "luts": report.luts,
                "ffs": report.ffs,
                "bram_blocks": report.bram_blocks,
                "bram_bits": report.bram_bits,
                "dsps": report.dsps,
                "fit": report.fit,
                "fmax_mhz": routed.and_then(|r| r.fmax_mhz),
                "place_error": routed.and_then(|r| r.place_error.as_ref()),
                "utilization": routed.map(|r| &r.utilization),
                "nextpnr_log": routed.map(|r| &r.log),
                "clock_source": clock.as_ref().map(|c| source_label(&c.source)),
                "clock_mhz": clock.as_ref().map(|c| c.mhz),
                "cycles_per_image": cycles,
                "latency_us": throughput.map(|t| t.latency_us),
                "images_per_s": throughput.map(|t| t.images_per_s),
                "cells": report.cells,
            }))?
        );
        return Ok(());
    }
    print_report(top, &report);
    match (cycles, &clock) {
        (Some(c), Some(clock)) => {
            let t = clock.throughput(c);
            println!(
                "{} cycles per input (cosim.json): {}, {} inputs/s at {}",
                thousands(c.round() as u64),
                duration(t.latency_us),
                thousands(t.images_per_s.round() as u64),
                clock_phrase(clock)
            );
            if let (ClockSource::Assumed, Some(fmax)) = (
                &clock.source,
                report.routed.as_ref().and_then(|r| r.fmax_mhz),
            ) {
                if clock.mhz > fmax {
                    println!(
                        "note: --clock-mhz {} is above the routed Fmax of {fmax:.1} MHz",
                        clock.mhz
                    );
                }
            }
        }
        (None, _) => println!("run snncc cosim first for latency and throughput"),
        (Some(_), None) => println!("{}", no_clock_reason(target, &report)),
    }
    Ok(())
}

/// The target with its part, checked before any tool runs.
fn target(args: &SynthArgs) -> anyhow::Result<SynthTarget> {
    if args.target != SynthTargetArg::Ecp5 && (args.device.is_some() || args.package.is_some()) {
        bail!("--device and --package choose an ECP5 part: use them with --target ecp5");
    }
    Ok(match args.target {
        SynthTargetArg::Generic => SynthTarget::Generic,
        SynthTargetArg::Ice40 => SynthTarget::Ice40,
        SynthTargetArg::Xilinx => SynthTarget::Xilinx,
        SynthTargetArg::Ecp5 => {
            let size = match args.device.unwrap_or(Ecp5SizeArg::K45) {
                Ecp5SizeArg::K25 => Ecp5Size::K25,
                Ecp5SizeArg::K45 => Ecp5Size::K45,
                Ecp5SizeArg::K85 => Ecp5Size::K85,
            };
            let package = args.package.as_deref().unwrap_or(Ecp5Part::DEFAULT_PACKAGE);
            SynthTarget::Ecp5(Ecp5Part::new(size, package)?)
        }
    })
}

/// The cycles per input the last `snncc cosim` measured, if it ran.
fn cycles_per_image(dir: &Path) -> anyhow::Result<Option<f64>> {
    #[derive(serde::Deserialize)]
    struct CosimRecord {
        cycles_per_image: f64,
    }
    let path = dir.join("cosim.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let record: CosimRecord = serde_json::from_str(&text)
        .with_context(|| format!("{}: rerun snncc cosim", path.display()))?;
    if !(record.cycles_per_image.is_finite() && record.cycles_per_image > 0.0) {
        bail!(
            "{}: cycles_per_image is {}; rerun snncc cosim",
            path.display(),
            record.cycles_per_image
        );
    }
    Ok(Some(record.cycles_per_image))
}

/// `clock_source` of the JSON report.
fn source_label(source: &ClockSource) -> String {
    match source {
        ClockSource::Routed { router, .. } => format!("{router} routed"),
        ClockSource::Assumed => "assumed (--clock-mhz)".into(),
    }
}

/// "the routed 118.3 MHz (nextpnr-ecp5, LFE5U-45F)" or "an assumed 100 MHz
/// (--clock-mhz)".
fn clock_phrase(clock: &Clock) -> String {
    match &clock.source {
        ClockSource::Routed { router, device } => {
            format!("the routed {:.1} MHz ({router}, {device})", clock.mhz)
        }
        ClockSource::Assumed => format!("an assumed {} MHz (--clock-mhz)", clock.mhz),
    }
}

/// Why there is no clock to quote latency at.
fn no_clock_reason(target: SynthTarget, report: &SynthReport) -> String {
    let hint = "pass --clock-mhz for a latency at an assumed clock";
    match (target, &report.routed) {
        (SynthTarget::Xilinx, _) => format!("no open router for Xilinx: {hint}"),
        (SynthTarget::Generic, _) => {
            format!("no place and route for the generic target: {hint}")
        }
        (_, Some(r)) if r.place_error.is_some() => {
            format!(
                "no routed clock: the design does not fit the {}; {hint}",
                r.device
            )
        }
        _ => format!("no routed clock (nextpnr reported no clock): {hint}"),
    }
}

/// Microseconds as "207 us" or "3.2 ms".
fn duration(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 10.0 {
        format!("{us:.0} us")
    } else {
        format!("{us:.2} us")
    }
}

fn print_report(top: &str, report: &SynthReport) {
    let mut table = Table::new(["target", "LUTs", "FFs", "BRAM blocks", "DSPs"]);
    table.row([
        report.target.to_string(),
        report.luts.to_string(),
        report.ffs.to_string(),
        report.bram_blocks.to_string(),
        report.dsps.to_string(),
    ]);
    println!("{top} (Yosys):\n{}", table.render());
    if let Some(r) = &report.routed {
        match (&r.place_error, r.fmax_mhz) {
            (Some(e), _) => println!("{} ({} {}): {e}", r.router, r.device, r.package),
            (None, fmax) => {
                println!(
                    "{} placed and routed on the {} {}: Fmax {}",
                    r.router,
                    r.device,
                    r.package,
                    fmax.map_or("unknown (no clocked path)".into(), |f| format!(
                        "{f:.1} MHz"
                    ))
                );
                let mut table = Table::new(["resource", "used", "available", "use"]);
                for u in &r.utilization {
                    table.row([
                        u.resource.to_string(),
                        u.used.to_string(),
                        u.available.to_string(),
                        format!("{:.0}%", 100.0 * u.used as f64 / u.available.max(1) as f64),
                    ]);
                }
                print!("{}", table.render());
            }
        }
        println!("log: {}", r.log.display());
    }
    if let Some(fit) = &report.fit {
        let package = fit
            .device
            .package
            .map_or(String::new(), |p| format!(" {p}"));
        let io = fit.io.map_or(String::new(), |io| {
            format!(", I/O pins {:.0} %", 100.0 * io)
        });
        println!(
            "{} {}{package}: LUTs {:.0} %, FFs {:.0} %, block RAM {:.0} % ({} kbit), DSPs {:.0} %{io}",
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
}
