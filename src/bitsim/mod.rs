//! The bit-accurate integer simulator: the time-stepped SNN in integers
//! only, exactly as the hardware computes it (docs/fixed-point.md §4). It
//! reads only the `QuantModel` (no float reaches the datapath; the input
//! image is quantised on entry), and it is the golden model the generated
//! Verilog must match bit for bit.

mod engine;

pub use engine::BitSimulator;

use ndarray::{ArrayView3, ArrayView4};

use crate::quant::{QLayerKind, QNeurons, QuantModel};
use crate::snn::metrics::{simulate_engine, Engine, LayerInfo, ReferenceActivations, SimReport};
use crate::snn::sim::ImageRun;
use crate::snn::{Potentials, SpikeTrace};

/// Describe the layers of a quantised model for reports.
pub fn layer_infos(model: &QuantModel) -> Vec<LayerInfo> {
    model
        .layers
        .iter()
        .map(|l| {
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
pub fn engine(model: &QuantModel) -> Box<dyn Engine + '_> {
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
    timesteps: &[usize],
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
        reference,
        progress,
    )
}

/// Every layer's spikes and raw membrane values at every step of one image.
pub fn trace_quantized(model: &QuantModel, image: ArrayView3<f32>, timesteps: usize) -> SpikeTrace {
    engine(model).trace(image, timesteps)
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
    let mut sim = engine(model);
    let run = sim.run(image, &[timesteps]);
    let last = model.layers.len() - 1;
    if let QLayerKind::Neurons(n) = &model.layers[last].kind {
        if let QNeurons::SpikeCountReadout { .. } = n.neurons {
            let counts = sim.counts()[last].iter().map(|&c| i64::from(c)).collect();
            return (counts, run);
        }
    }
    match sim.potentials(last) {
        Potentials::Int { values, .. } => (values, run),
        _ => unreachable!("the readout has an integer membrane"),
    }
}
