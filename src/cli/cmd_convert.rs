//! `snncc convert MODEL --calib XC -o DIR`: ECC conversion to a directory.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use snncc::ecc::{self, Conversion, ConvertOptions};
use snncc::ir::Graph;
use snncc::{data, import, reference, snn};

use super::{ConvertArgs, ConvertFlags};

impl ConvertFlags {
    /// `--h`, checked: finite and from -1 to 1 (the range calibration
    /// searches; beyond it a neuron fires before any input, or needs more
    /// than a threshold's worth to fire at all), else an error (exit 1).
    pub fn h(&self) -> anyhow::Result<Option<f32>> {
        match self.h {
            Some(h) if !snn::is_initial_fraction(h) => {
                bail!("--h {h}: the initial potential is a fraction of the threshold from -1 to 1")
            }
            h => Ok(h),
        }
    }
}

/// Load a Keras model and convert it with the flags, printing what
/// conversion did to stderr. Returns the graph, the conversion and the
/// seconds conversion took (calibration data already read).
pub fn convert_keras(
    model: &Path,
    calib: &Path,
    flags: &ConvertFlags,
) -> anyhow::Result<(Graph, Conversion, f64)> {
    let h = flags.h()?;
    if flags.calibrate_timesteps == 0 {
        bail!("--calibrate-timesteps must be positive (the run length calibration matches spike counts over)");
    }
    let graph = import::load_model(model)?.graph;
    let calib_images = data::read_images(calib)?;
    reference::check_input(&graph, calib_images.dim())
        .with_context(|| format!("calibration file {}", calib.display()))?;
    let options = ConvertOptions {
        norm: flags.norm,
        per_channel: flags.per_channel(),
        h: h.unwrap_or(0.5),
        readout: flags.readout.into(),
    };
    let started = Instant::now();
    let mut conversion = ecc::convert(&graph, calib_images.view(), options)
        .with_context(|| format!("converting {}", model.display()))?;
    let granularity = match flags.calibrate {
        crate::cli::CalibrateArg::None => None,
        crate::cli::CalibrateArg::H => Some(ecc::Granularity::Layer),
        crate::cli::CalibrateArg::HChannel => Some(ecc::Granularity::Channel),
    };
    if let Some(granularity) = granularity {
        if let Some(h) = h {
            eprintln!(
                "warning: calibration chooses each layer's initial potential; --h {h} applies only where it does not (a spike-count read-out). Pass --calibrate none for a uniform h"
            );
        }
        let t = flags.calibrate_timesteps;
        let h_layers = ecc::calibrate_h(&conversion, calib_images.view(), t, granularity);
        let chosen: Vec<String> = conversion
            .model
            .layers
            .iter()
            .zip(&h_layers)
            .filter(|(l, _)| matches!(l.neurons, snncc::snn::Neurons::IntegrateAndFire { .. }))
            .map(|(l, h)| format!("{} {h:.1}", l.name))
            .collect();
        conversion.log.changes.push(format!(
            "calibrated the initial potentials on {} calibration images for T = {t}: {}",
            calib_images.dim().0.min(ecc::CALIBRATION_IMAGES),
            chosen.join(", ")
        ));
        conversion.model.h_layers = Some(h_layers);
    }
    let seconds = started.elapsed().as_secs_f64();
    for change in &conversion.log.changes {
        eprintln!("convert: {change}");
    }
    for warning in &conversion.log.warnings {
        eprintln!("warning: {warning}");
    }
    Ok((graph, conversion, seconds))
}

/// A network to simulate or quantise: converted from a Keras model now
/// (with the CNN it came from), or read from a directory.
pub enum Network {
    Converted {
        graph: Graph,
        conversion: Conversion,
        seconds: f64,
    },
    Dir(snncc::snn::SnnModel),
}

impl Network {
    pub fn model(&self) -> &snncc::snn::SnnModel {
        match self {
            Network::Converted { conversion, .. } => &conversion.model,
            Network::Dir(m) => m,
        }
    }
}

/// Read a converted directory, or convert a Keras model with `calib`.
pub fn load_network(
    model: &Path,
    calib: Option<&Path>,
    flags: &ConvertFlags,
) -> anyhow::Result<Network> {
    if snncc::snn::is_net_dir(model) {
        let mut net = snncc::snn::load_net(model)?;
        if let Some(h) = flags.h()? {
            net.h = h;
        }
        // Directories written before the input range was recorded: take it
        // from the calibration images if given (fixed point needs it).
        if let (None, Some(calib)) = (net.input_range, calib) {
            let images = data::read_images(calib)?;
            if images.dim().0 > 0 {
                net.input_range = Some(snncc::ecc::input_range(images.view()));
            }
        }
        return Ok(Network::Dir(net));
    }
    let Some(calib) = calib else {
        bail!(
            "{} is a Keras model: --calib is needed to measure activation scales (or pass a directory made by snncc convert)",
            model.display()
        );
    };
    let (graph, conversion, seconds) = convert_keras(model, calib, flags)?;
    Ok(Network::Converted {
        graph,
        conversion,
        seconds,
    })
}

pub fn run(args: &ConvertArgs) -> anyhow::Result<()> {
    if args.output.exists() && !args.output.is_dir() {
        bail!("{} exists and is not a directory", args.output.display());
    }
    let (_, conversion, seconds) = convert_keras(&args.model, &args.calib, &args.convert)?;
    let mut notes = vec![
        format!("converted from {}", args.model.display()),
        format!("calibration data {}", args.calib.display()),
        format!(
            "norm {}{}",
            args.convert.norm.label(),
            if args.convert.per_channel() {
                " per channel"
            } else {
                ""
            }
        ),
    ];
    notes.extend(conversion.log.changes.iter().cloned());
    notes.extend(
        conversion
            .log
            .warnings
            .iter()
            .map(|w| format!("warning: {w}")),
    );
    snn::save_net(&conversion.model, &args.output, &notes)?;
    println!(
        "converted '{}' in {seconds:.3} s: {} layers written to {}",
        conversion.model.name,
        conversion.model.layers.len(),
        args.output.join(snn::store::DESCRIPTION).display()
    );
    Ok(())
}
