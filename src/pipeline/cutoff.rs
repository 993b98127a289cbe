//! The early cutoff as the commands use it (docs/ecc.md "Early cutoff"): a
//! margin given, or chosen on calibration images for a stated agreement
//! with the full-length answers (`auto`); resolved into the unit of the
//! simulator that runs it (the bit-accurate one compares raw integers);
//! then a test set run with it.

use std::path::Path;

use ndarray::{Array4, ArrayView4};

use super::PipelineError;
use crate::bitsim;
use crate::quant::QuantModel;
use crate::snn::cutoff::{choose_margin, CutoffError, MarginChoice};
use crate::snn::{self, SimReport, SnnModel, Timesteps};

/// The cutoff asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Request {
    /// The smallest margin whose answers agree with the full-length ones
    /// on at least this fraction of the calibration images.
    Auto { agreement: f64 },
    /// This margin, in the read-out's unit.
    Margin(f64),
}

/// Which simulator the cutoff runs on.
pub enum Sim<'a> {
    Float(&'a SnnModel),
    Fixed(&'a QuantModel),
}

/// The cutoff a run will use, in the simulator's own unit.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// In the float read-out's unit (potential units or spikes).
    pub margin: f64,
    /// The bit-accurate simulator's raw margin (fixed point only).
    pub margin_raw: Option<i64>,
    /// How `auto` chose it: agreement and mean steps on the calibration
    /// images, and how many there were.
    pub chosen: Option<(MarginChoice<f64>, usize)>,
    /// The agreement `auto` was asked for.
    pub wanted: Option<f64>,
    /// What the margin will not do (a read-out of one neuron never leads).
    pub warnings: Vec<String>,
}

/// Calibration images to choose a margin on, checked against `model`.
pub fn calibration_images(path: &Path, model: &SnnModel) -> Result<Array4<f32>, PipelineError> {
    let images = crate::data::read_images(path)?;
    let (n, h, w, c) = images.dim();
    if !model.input_shape.accepts(h, w, c) {
        return Err(PipelineError::CutoffImages {
            path: path.to_path_buf(),
            reason: format!(
                "images are {h}x{w}x{c}, the network takes {}",
                model.input_shape
            ),
        });
    }
    if n == 0 {
        return Err(PipelineError::CutoffImages {
            path: path.to_path_buf(),
            reason: "no images".into(),
        });
    }
    Ok(images)
}

/// Resolve `request` for `sim` (`float_model` is the network it was
/// quantised from, or the same): `auto` simulates `calib` to `timesteps`
/// and calls `tick` once an image.
pub fn resolve(
    request: Request,
    sim: &Sim,
    float_model: &SnnModel,
    calib: Option<ArrayView4<f32>>,
    timesteps: usize,
    tick: &(dyn Fn() + Sync),
) -> Result<Resolved, PipelineError> {
    match request {
        Request::Margin(margin) => {
            // (auto refuses this itself.)
            let warnings = if float_model.layers.last().is_some_and(|l| l.size() < 2) {
                vec![CutoffError::SingleOutput.to_string()]
            } else {
                Vec::new()
            };
            let margin_raw = match sim {
                Sim::Float(_) => None,
                Sim::Fixed(q) => Some(bitsim::cutoff_margin_raw(q, margin)?),
            };
            Ok(Resolved {
                margin,
                margin_raw,
                chosen: None,
                wanted: None,
                warnings,
            })
        }
        Request::Auto { agreement } => {
            let images = calib.ok_or(PipelineError::CutoffNeedsCalibration)?;
            let n = images.dim().0;
            let (margin, margin_raw, choice) = match sim {
                Sim::Float(model) => {
                    let tracks = snn::metrics::track_leads_float(model, images, timesteps, tick);
                    let c = choose_margin(&tracks, timesteps, agreement)?;
                    (c.margin, None, c)
                }
                Sim::Fixed(q) => {
                    let tracks = bitsim::track_leads_quantized(q, images, timesteps, tick);
                    let c = choose_margin(&tracks, timesteps, agreement)?;
                    let margin = bitsim::cutoff_margin_real(q, c.margin);
                    let choice = MarginChoice {
                        margin,
                        agreement: c.agreement,
                        mean_timesteps: c.mean_timesteps,
                    };
                    (margin, Some(c.margin), choice)
                }
            };
            Ok(Resolved {
                margin,
                margin_raw,
                chosen: Some((choice, n)),
                wanted: Some(agreement),
                warnings: Vec::new(),
            })
        }
    }
}

/// Simulate a test set with the cutoff: every requested `T` as the most
/// steps an image may run; `tick` once an image.
pub fn simulate(
    sim: &Sim,
    cutoff: &Resolved,
    images: ArrayView4<f32>,
    labels: &[usize],
    timesteps: &Timesteps,
    tick: &(dyn Fn() + Sync),
) -> SimReport {
    match (sim, cutoff.margin_raw) {
        (Sim::Fixed(q), Some(raw)) => {
            bitsim::simulate_quantized_cutoff(q, images, Some(labels), timesteps, raw, tick)
        }
        (Sim::Fixed(_), None) => unreachable!("a fixed-point cutoff has a raw margin"),
        (Sim::Float(model), _) => snn::simulate_dataset_cutoff(
            model,
            images,
            Some(labels),
            timesteps,
            cutoff.margin,
            tick,
        ),
    }
}

/// The read-out's unit, for reports.
pub fn unit(model: &SnnModel) -> &'static str {
    match model.layers.last().map(|l| &l.neurons) {
        Some(snn::Neurons::SpikeCountReadout { .. }) => "spikes",
        _ => "potential units",
    }
}
