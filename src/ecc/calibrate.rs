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
use crate::snn::engine::Engine;
use crate::snn::sim::Simulator;
use crate::snn::{InitialFraction, Neurons, SnnModel};

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

/// Where calibration chooses initial fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One per layer, matching the layer's mean spike count per image.
    Layer,
    /// One per output channel, each minimising the summed absolute error of
    /// its neurons' spike counts (per image) against their targets: a
    /// channel's neurons share one V0 and so one transient, and channels
    /// of one layer differ in how early their input arrives (a residual
    /// add's channels, each mixing its two paths in its own proportion).
    Channel,
}

/// Each layer's initial fraction (the readout's and a gate's as they were),
/// chosen on the first `CALIBRATION_IMAGES` calibration images for runs of
/// `timesteps` steps.
pub fn calibrate_h(
    conversion: &Conversion,
    calib: ArrayView4<f32>,
    timesteps: usize,
    granularity: Granularity,
) -> Vec<InitialFraction> {
    let model = &conversion.model;
    let n = CALIBRATION_IMAGES.min(calib.dim().0).max(1);
    let xs: Vec<_> = (0..n).map(|i| calib.index_axis(Axis(0), i)).collect();
    // Target spikes of every neuron of every layer, per image: the CNN's
    // activation over the layer's scale, clipped to one spike a step, times T.
    let targets: Vec<Vec<Vec<f32>>> = xs
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
                        .map(|(i, &a)| (a / layer.lambda[i % c]).clamp(0.0, 1.0) * timesteps as f32)
                        .collect()
                })
                .collect()
        })
        .collect();
    // Per channel of layer `li` (channels last: neuron i is channel i % c),
    // summed over the images: (spikes - target) and |spikes - target|.
    let errors = |m: &SnnModel, li: usize| -> (Vec<f64>, Vec<f64>) {
        let c = m.layers[li].shape.channels();
        let zero = || (vec![0.0; c], vec![0.0; c]);
        (0..n)
            .into_par_iter()
            .map_init(
                || Simulator::new(m),
                |sim, j| {
                    sim.run(xs[j], &[timesteps]);
                    let (mut signed, mut abs) = zero();
                    for (i, (&k, &t)) in sim.counts()[li].iter().zip(&targets[j][li]).enumerate() {
                        let d = f64::from(k) - f64::from(t);
                        signed[i % c] += d;
                        abs[i % c] += d.abs();
                    }
                    (signed, abs)
                },
            )
            .reduce(zero, |(mut s, mut a), (s2, a2)| {
                s.iter_mut().zip(&s2).for_each(|(x, y)| *x += y);
                a.iter_mut().zip(&a2).for_each(|(x, y)| *x += y);
                (s, a)
            })
    };
    let mut calibrated = model.clone();
    calibrated.h_layers = Some((0..model.layers.len()).map(|li| model.h_of(li)).collect());
    let set = |m: &mut SnnModel, li: usize, h: InitialFraction| {
        m.h_layers.as_mut().expect("set above")[li] = h;
    };
    for li in 0..model.layers.len() {
        if !matches!(model.layers[li].neurons, Neurons::IntegrateAndFire { .. }) {
            continue;
        }
        let c = model.layers[li].shape.channels();
        // Per channel: (error, fraction) of the best grid value so far.
        let mut best = vec![(f64::INFINITY, model.h_of(li).at(0)); c];
        let mut best_layer = (f64::INFINITY, model.h_of(li).at(0));
        for h in GRID {
            set(&mut calibrated, li, InitialFraction::Layer(h));
            let (signed, abs) = errors(&calibrated, li);
            let total = signed.iter().sum::<f64>().abs();
            if total < best_layer.0 {
                best_layer = (total, h);
            }
            for (b, &e) in best.iter_mut().zip(&abs) {
                if e < b.0 {
                    *b = (e, h);
                }
            }
        }
        let chosen = match granularity {
            Granularity::Layer => InitialFraction::Layer(best_layer.1),
            Granularity::Channel => InitialFraction::Channels(best.iter().map(|b| b.1).collect()),
        };
        set(&mut calibrated, li, chosen);
    }
    calibrated.h_layers.expect("set above")
}
