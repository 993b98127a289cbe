//! The bit-accurate integer simulator: the time-stepped SNN in integers
//! only, exactly as the hardware computes it (docs/fixed-point.md §4). It
//! reads only the `QuantModel` (no float reaches the datapath; the input
//! image is quantised on entry), and it is the golden model the generated
//! Verilog must match bit for bit.

mod engine;

pub use engine::BitSimulator;

use ndarray::{ArrayView3, ArrayView4};

use crate::quant::{arith, QLayerKind, QNeurons, QuantModel};
use crate::snn::cutoff::{CutoffError, LeadTrack, Margin, Watch};
use crate::snn::engine::{Engine, ImageRun};
use crate::snn::metrics::{
    simulate_engine, track_leads, LayerInfo, ReferenceActivations, SimReport,
};
use crate::snn::{Potentials, SpikeTrace, Timesteps};

/// Describe the layers of a quantised model for reports.
pub fn layer_infos(model: &QuantModel) -> Vec<LayerInfo> {
    model
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let kind = match &l.kind {
                QLayerKind::MaxGate { .. } => "maxgate",
                QLayerKind::Neurons(n) => match n.neurons {
                    QNeurons::IntegrateAndFire { .. } => "if",
                    QNeurons::Readout => "readout",
                    QNeurons::SpikeCountReadout { .. } => "count_readout",
                },
            };
            LayerInfo {
                name: l.name.clone(),
                kind,
                neurons: l.shape.len(),
                spikes: kind != "readout",
                burst: model.burst(i),
            }
        })
        .collect()
}

/// Whether every value of the model fits 32-bit storage (then `V + I` fits
/// in 64 bits and the vector units do twice the work per instruction).
pub fn fits_i32(model: &QuantModel) -> bool {
    model.layers.iter().all(|l| match &l.kind {
        QLayerKind::MaxGate { .. } => true,
        QLayerKind::Neurons(n) => n.accumulator_bits <= 32 && n.formats.membrane.bits() <= 32,
    })
}

/// An integer simulator for `model` with the narrowest storage that holds
/// its values (`fits_i32`).
pub fn engine(model: &QuantModel) -> Box<dyn Engine<Margin = i64> + '_> {
    if fits_i32(model) {
        Box::new(BitSimulator::<i32>::new(model))
    } else {
        Box::new(BitSimulator::<i64>::new(model))
    }
}

/// Simulate every image in parallel with the integer datapath; the same
/// report as the float simulator, with overflow events per layer.
pub fn simulate_quantized(
    model: &QuantModel,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &Timesteps,
    reference: Option<ReferenceActivations>,
    progress: &(dyn Fn() + Sync),
) -> SimReport {
    let make = || engine(model);
    simulate_engine(
        &make,
        &layer_infos(model),
        model.cnn_macs,
        images,
        labels,
        timesteps,
        None,
        reference,
        progress,
    )
}

/// `simulate_quantized` with an early cutoff (docs/fixed-point.md §4.6):
/// each image stops at the first step whose raw read-out margin reaches
/// `margin_raw` (see `cutoff_margin_raw`); the report at each requested `T`
/// is that of images run for at most `T` steps, with the mean steps taken.
pub fn simulate_quantized_cutoff(
    model: &QuantModel,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &Timesteps,
    margin_raw: i64,
    progress: &(dyn Fn() + Sync),
) -> SimReport {
    let make = || engine(model);
    simulate_engine(
        &make,
        &layer_infos(model),
        model.cnn_macs,
        images,
        labels,
        timesteps,
        Some(margin_raw),
        None,
        progress,
    )
}

/// Every image's raw read-out lead after each step `1..=timesteps` and its
/// full-length class, in image order (for `cutoff::choose_margin`).
pub fn track_leads_quantized(
    model: &QuantModel,
    images: ArrayView4<f32>,
    timesteps: usize,
    progress: &(dyn Fn() + Sync),
) -> Vec<LeadTrack<i64>> {
    track_leads(&|| engine(model), images, timesteps, progress)
}

/// Whether the cutoff compares the readout's membrane potentials (else its
/// spike counts, as the simulator's read-out does).
fn potential_readout(model: &QuantModel) -> Option<(f64, u32)> {
    match model.layers.last().map(|l| &l.kind) {
        Some(QLayerKind::Neurons(n)) if n.neurons == QNeurons::Readout => {
            Some((n.scale, n.formats.membrane.frac()))
        }
        _ => None,
    }
}

/// The raw margin the hardware compares with (docs/fixed-point.md §4.6):
/// `ceil(margin * scale * 2^frac)` of the readout's membrane format for a
/// potential read-out (`margin` in the float read-out's potential units),
/// `ceil(margin)` spikes for a spike-count read-out; at least 1.
pub fn cutoff_margin_raw(model: &QuantModel, margin: f64) -> Result<i64, CutoffError> {
    if !margin.usable() {
        return Err(CutoffError::BadMargin(margin));
    }
    Ok(match potential_readout(model) {
        Some((scale, frac)) => arith::margin_raw(margin, scale, frac),
        None => arith::margin_raw(margin, 1.0, 0),
    })
}

/// A raw margin in the float read-out's unit (for reports): a value that
/// `cutoff_margin_raw` maps back to `margin_raw`.
pub fn cutoff_margin_real(model: &QuantModel, margin_raw: i64) -> f64 {
    match potential_readout(model) {
        Some((scale, frac)) => arith::margin_real(margin_raw, scale, frac),
        None => margin_raw as f64,
    }
}

/// Every layer's spikes and raw membrane values at every step of one image.
pub fn trace_quantized(model: &QuantModel, image: ArrayView3<f32>, timesteps: usize) -> SpikeTrace {
    trace_quantized_cutoff(model, image, timesteps, None)
}

/// `trace_quantized`, ending at the cutoff step (docs/fixed-point.md §4.6)
/// if the raw read-out margin reaches `margin_raw` before `timesteps`; the
/// trace's `timesteps` is the steps run.
pub fn trace_quantized_cutoff(
    model: &QuantModel,
    image: ArrayView3<f32>,
    timesteps: usize,
    margin_raw: Option<i64>,
) -> SpikeTrace {
    engine(model).trace_cutoff(image, timesteps, margin_raw)
}

/// What the hardware reads out after `timesteps` steps of one image (and
/// its testbench compares): the readout layer's raw potentials, or its
/// spike counts for a spike-count readout.
pub fn readout_quantized(model: &QuantModel, image: ArrayView3<f32>, timesteps: usize) -> Vec<i64> {
    readout_run(model, image, timesteps).0
}

/// `readout_quantized` with the run's activity (SynOps, MACs, spikes).
pub fn readout_run(
    model: &QuantModel,
    image: ArrayView3<f32>,
    timesteps: usize,
) -> (Vec<i64>, ImageRun) {
    let (values, _, run) = readout_run_cutoff(model, image, timesteps, None);
    (values, run)
}

/// What the hardware reads out for one image with an early cutoff
/// (docs/fixed-point.md §4.6): it runs at most `timesteps` steps and stops
/// after the first step whose raw read-out margin reaches `margin_raw`
/// (`None`: never). Returns the read-out values after the last step run
/// (raw potentials, or spike counts), the steps run, and the activity.
pub fn readout_run_cutoff(
    model: &QuantModel,
    image: ArrayView3<f32>,
    timesteps: usize,
    margin_raw: Option<i64>,
) -> (Vec<i64>, usize, ImageRun) {
    let mut sim = engine(model);
    let run = sim.run_watched(image, &[timesteps], Watch::stop(margin_raw));
    let steps = run.steps.first().copied().unwrap_or(0);
    let last = model.layers.len() - 1;
    if let QLayerKind::Neurons(n) = &model.layers[last].kind {
        if let QNeurons::SpikeCountReadout { .. } = n.neurons {
            let counts = sim.counts()[last].iter().map(|&c| i64::from(c)).collect();
            return (counts, steps, run);
        }
    }
    match sim.potentials(last) {
        Potentials::Int { values, .. } => (values, steps, run),
        _ => unreachable!("the readout has an integer membrane"),
    }
}
