//! The network a command works on: `--calib`/`--norm`/... resolved into the
//! pipeline's settings once, and what conversion did printed to stderr.

use std::path::Path;

use anyhow::bail;
use snncc::ecc::Granularity;
use snncc::pipeline::{self, Calibration, ConvertSettings, Network};
use snncc::snn;

use super::{CalibrateArg, ConvertFlags};

impl ConvertFlags {
    /// The conversion settings, checked: `--h` finite and from -1 to 1 (the
    /// range calibration searches; beyond it a neuron fires before any
    /// input, or needs more than a threshold's worth to fire at all) and
    /// positive calibration lengths, else an error (exit 1).
    pub fn settings(&self) -> anyhow::Result<ConvertSettings> {
        if let Some(h) = self.h {
            if !snn::is_initial_fraction(h) {
                bail!("--h {h}: the initial potential is a fraction of the threshold from -1 to 1")
            }
        }
        let lengths: snncc::ecc::Lengths = self
            .calibrate_timesteps
            .parse()
            .map_err(|e| anyhow::anyhow!("--calibrate-timesteps {e}"))?;
        let granularity = match self.calibrate {
            CalibrateArg::None => None,
            CalibrateArg::H => Some(Granularity::Layer),
            CalibrateArg::HChannel => Some(Granularity::Channel),
        };
        Ok(ConvertSettings {
            norm: self.norm,
            per_channel: self.per_channel(),
            h: self.h,
            readout: self.readout.into(),
            burst: self.burst,
            burst_after: self.burst_after,
            calibrate: granularity.map(|granularity| Calibration {
                granularity,
                lengths,
            }),
        })
    }
}

/// Print what conversion changed and warned about.
pub fn print_log(conversion: &snncc::ecc::Conversion) {
    for change in &conversion.log.changes {
        eprintln!("convert: {change}");
    }
    for warning in &conversion.log.warnings {
        eprintln!("warning: {warning}");
    }
}

/// Warn where `--h` is given but calibration chooses the potentials.
fn warn_h_with_calibration(settings: &ConvertSettings) {
    if let (Some(h), Some(_)) = (settings.h, &settings.calibrate) {
        eprintln!(
            "warning: calibration chooses each layer's initial potential; --h {h} applies only where it does not (a spike-count read-out). Pass --calibrate none for a uniform h"
        );
    }
}

/// Convert a Keras model with the flags, printing what conversion did.
pub fn convert(
    model: &Path,
    calib: &Path,
    flags: &ConvertFlags,
) -> anyhow::Result<(snncc::ir::Graph, snncc::ecc::Conversion, f64)> {
    let settings = flags.settings()?;
    warn_h_with_calibration(&settings);
    let converted = pipeline::convert_keras(model, calib, &settings)?;
    print_log(&converted.1);
    Ok(converted)
}

/// Read a converted directory, or convert a Keras model with `calib`.
pub fn load(model: &Path, calib: Option<&Path>, flags: &ConvertFlags) -> anyhow::Result<Network> {
    let settings = flags.settings()?;
    if !snn::is_net_dir(model) {
        if calib.is_none() {
            bail!(
                "{} is a Keras model: --calib is needed to measure activation scales (or pass a directory made by snncc convert)",
                model.display()
            );
        }
        warn_h_with_calibration(&settings);
    }
    let network = pipeline::load_network(model, calib, &settings)?;
    if let Network::Converted { conversion, .. } = &network {
        print_log(conversion);
    }
    Ok(network)
}
