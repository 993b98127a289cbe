//! Post-conversion calibration of the initial membrane potentials: one
//! fraction `h` per layer, chosen on calibration images so that over a
//! short run of `T` steps each layer fires as many spikes as its CNN
//! activations ask for (docs/ecc.md, "Calibration").
//!
//! Why the initial potential: it acts on the transient only (the rate limit
//! and `eval NET/` are unchanged, and the hardware already holds one V0 per
//! layer), and the transient is what a short run gets wrong. ECC's uniform
//! h = 0.5 is right for a layer whose input is steady from the first step;
//! a deep layer's input starts late (every layer before it has to charge
//! first) and one behind an identity shortcut gets its sources' early
//! surplus, so the best h differs per layer. Layers are calibrated in order,
//! each with the ones before it already calibrated.

use ndarray::{ArrayView4, Axis};
use rayon::prelude::*;

use super::Conversion;
use crate::reference;
use crate::snn::metrics::Engine;
use crate::snn::sim::Simulator;
use crate::snn::{Neurons, SnnModel};

/// The candidate fractions, -1 to 1 in tenths (count is monotone in `h`;
/// a grid keeps the search independent of how the count steps). Below 0 a
/// neuron must first make up a deficit: for layers that fire a surplus
/// early (inputs that are positive at first and negative on average).
const GRID: [f32; 21] = [
    -1.0, -0.9, -0.8, -0.7, -0.6, -0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
    0.7, 0.8, 0.9, 1.0,
];

/// How many calibration images calibration simulates (the first ones).
pub const CALIBRATION_IMAGES: usize = 64;

/// Each layer's initial fraction (the readout's and a gate's as they were),
/// chosen on the first `CALIBRATION_IMAGES` calibration images for runs of
/// `timesteps` steps.
pub fn calibrate_h(conversion: &Conversion, calib: ArrayView4<f32>, timesteps: usize) -> Vec<f32> {
    let model = &conversion.model;
    let n = CALIBRATION_IMAGES.min(calib.dim().0).max(1);
    let xs: Vec<_> = (0..n).map(|i| calib.index_axis(Axis(0), i)).collect();
    // Target spikes per image of every layer: the CNN's activation over the
    // layer's scale, clipped to one spike a step, times T.
    let targets: Vec<f64> = {
        let per_image: Vec<Vec<f64>> = xs
            .par_iter()
            .map(|x| {
                let acts = reference::run_all(&conversion.folded, *x);
                model
                    .layers
                    .iter()
                    .zip(&conversion.layer_nodes)
                    .map(|(layer, &node)| {
                        let c = layer.lambda.len();
                        acts[node]
                            .iter()
                            .enumerate()
                            .map(|(i, &a)| f64::from((a / layer.lambda[i % c]).clamp(0.0, 1.0)))
                            .sum::<f64>()
                            * timesteps as f64
                    })
                    .collect()
            })
            .collect();
        (0..model.layers.len())
            .map(|li| per_image.iter().map(|v| v[li]).sum::<f64>() / n as f64)
            .collect()
    };
    let spikes = |m: &SnnModel, li: usize| -> f64 {
        let total: u64 = xs
            .par_iter()
            .map_init(
                || Simulator::new(m),
                |sim, x| {
                    sim.run(*x, &[timesteps]);
                    sim.counts()[li].iter().map(|&k| u64::from(k)).sum::<u64>()
                },
            )
            .sum();
        total as f64 / n as f64
    };
    let mut calibrated = model.clone();
    calibrated.h_layers = Some((0..model.layers.len()).map(|li| model.h_of(li)).collect());
    let set = |m: &mut SnnModel, li: usize, h: f32| {
        m.h_layers.as_mut().expect("set above")[li] = h;
    };
    for (li, &target) in targets.iter().enumerate() {
        if !matches!(model.layers[li].neurons, Neurons::IntegrateAndFire { .. }) {
            continue;
        }
        let mut best = (f64::INFINITY, model.h_of(li));
        for h in GRID {
            set(&mut calibrated, li, h);
            let err = (spikes(&calibrated, li) - target).abs();
            if err < best.0 {
                best = (err, h);
            }
        }
        set(&mut calibrated, li, best.1);
    }
    calibrated.h_layers.expect("set above")
}
