//! The rate limit of a converted network: what the SNN computes as
//! `T -> infinity`. An IF layer's rate is its per-step current clipped to
//! [0, burst] (it cannot fire more than `burst` times a step, once without
//! burst spikes), a max gate's the maximum
//! rate in its window, and the readout's potential per step is its current.
//! Comparing this with the CNN separates the loss due to normalisation
//! (clipping at rate 1) from the loss due to short spike trains.

use ndarray::ArrayView3;

use super::dense::{propagate_values, Dims};
use super::model::{Neurons, SnnModel, Source};
use crate::ir::window_range;

/// The readout's per-step current (logits) for one image in the rate limit.
pub fn rate_limit_outputs(model: &SnnModel, image: ArrayView3<f32>) -> Vec<f32> {
    let input: Vec<f32> = image.iter().copied().collect();
    let mut rates: Vec<Vec<f32>> = Vec::with_capacity(model.layers.len());
    let mut cols = Vec::new();
    for layer in &model.layers {
        let out = Dims::of(layer.shape);
        let mut current = vec![0f32; layer.size()];
        if let Neurons::MaxGate { size, strides, pad } = layer.neurons {
            let Some(Source::Layer(s)) = layer.gate_source else {
                unreachable!("checked models gate a layer")
            };
            let src = Dims::of(model.layers[s].shape);
            for oy in 0..out.h {
                for ox in 0..out.w {
                    let ys = window_range(oy, strides.0, size.0, pad.top, src.h);
                    let xs = window_range(ox, strides.1, size.1, pad.left, src.w);
                    for c in 0..out.c {
                        let mut m = 0f32;
                        for y in ys.clone() {
                            for x in xs.clone() {
                                m = m.max(rates[s][(y * src.w + x) * src.c + c]);
                            }
                        }
                        current[(oy * out.w + ox) * out.c + c] = m;
                    }
                }
            }
            rates.push(current);
            continue;
        }
        if let Some(b) = &layer.bias {
            for (i, v) in current.iter_mut().enumerate() {
                *v = b.at(i, out.c);
            }
        }
        for conn in &layer.inputs {
            let (map, src) = match conn.source {
                Source::Input => (&input, Dims::of(model.input_shape)),
                Source::Layer(i) => (&rates[i], Dims::of(model.layers[i].shape)),
            };
            propagate_values(&conn.synapses, map, src, out, &mut cols, &mut current);
        }
        if let Neurons::IntegrateAndFire { threshold } | Neurons::SpikeCountReadout { threshold } =
            layer.neurons
        {
            let most = layer.burst as f32;
            current
                .iter_mut()
                .for_each(|v| *v = (*v / threshold).clamp(0.0, most));
        }
        rates.push(current);
    }
    rates.pop().unwrap_or_default()
}
