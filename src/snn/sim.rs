//! Float, time-stepped simulation of an `SnnModel` (docs/ecc.md dynamics).
//!
//! Per step `t = 1..T`, layers in order; spikes of a layer reach the next in
//! the same step. Propagation is event driven: only neurons that spiked send
//! current, so the work grows with spikes (SynOps), not neurons x T. The
//! analog input's current is constant, so it is computed once per image.
//! All buffers are allocated once per worker thread and reused per image.

use ndarray::ArrayView3;

use super::model::{Neurons, SnnModel, Source, Synapses};
use crate::ir::Shape;

/// The result of simulating one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageRun {
    /// Predicted class at each requested `T`, in the order requested.
    pub predictions: Vec<usize>,
    /// Total spikes (all layers) up to each requested `T`.
    pub spikes: Vec<u64>,
    /// Total synaptic operations up to each requested `T`.
    pub synops: Vec<u64>,
    /// Per layer, at the largest `T`: spikes and SynOps caused by its input.
    pub layer_spikes: Vec<u64>,
    pub layer_synops: Vec<u64>,
    /// Multiply-accumulates of the analog input current (done once).
    pub input_macs: u64,
}

/// Geometry of a map, channels last.
#[derive(Debug, Clone, Copy)]
struct Dims {
    h: usize,
    w: usize,
    c: usize,
}

fn dims(shape: Shape) -> Dims {
    match shape {
        Shape::Map { h, w, c } => Dims { h, w, c },
        Shape::Vector { n } => Dims { h: 1, w: 1, c: n },
    }
}

/// Per-thread simulation state, reused across images.
pub struct Simulator<'m> {
    model: &'m SnnModel,
    src_dims: Vec<Vec<Dims>>,
    out_dims: Vec<Dims>,
    /// Whether a layer's current is the same every step (inputs all analog).
    constant: Vec<bool>,
    /// 1 / (in-bounds window size) per output position, for average pools.
    inv_counts: Vec<Vec<Vec<f32>>>,
    v: Vec<Vec<f32>>,
    current: Vec<Vec<f32>>,
    spikes: Vec<Vec<u32>>,
    counts: Vec<Vec<u32>>,
}

impl<'m> Simulator<'m> {
    pub fn new(model: &'m SnnModel) -> Simulator<'m> {
        let out_dims: Vec<Dims> = model.layers.iter().map(|l| dims(l.shape)).collect();
        let source_dims = |s: Source| match s {
            Source::Input => dims(model.input_shape),
            Source::Layer(i) => out_dims[i],
        };
        let src_dims = model
            .layers
            .iter()
            .map(|l| l.inputs.iter().map(|c| source_dims(c.source)).collect())
            .collect();
        let constant = model
            .layers
            .iter()
            .map(|l| !l.inputs.is_empty() && l.inputs.iter().all(|c| c.source == Source::Input))
            .collect();
        let inv_counts = model
            .layers
            .iter()
            .enumerate()
            .map(|(li, l)| {
                l.inputs
                    .iter()
                    .map(|c| match &c.synapses {
                        Synapses::AvgPool {
                            size, strides, pad, ..
                        } => {
                            let s = source_dims(c.source);
                            window_inv_counts(s, out_dims[li], *size, *strides, pad.top, pad.left)
                        }
                        _ => Vec::new(),
                    })
                    .collect()
            })
            .collect();
        let sizes: Vec<usize> = model.layers.iter().map(|l| l.size()).collect();
        Simulator {
            model,
            src_dims,
            out_dims,
            constant,
            inv_counts,
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            current: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            spikes: sizes.iter().map(|&n| Vec::with_capacity(n)).collect(),
            counts: sizes.iter().map(|&n| vec![0; n]).collect(),
        }
    }

    /// Spike counts per neuron of each layer after the last `run`.
    pub fn counts(&self) -> &[Vec<u32>] {
        &self.counts
    }

    /// Simulate one image (`H x W x C`) up to the largest of `timesteps`
    /// (sorted ascending), reading out at each of them.
    pub fn run(&mut self, image: ArrayView3<f32>, timesteps: &[usize]) -> ImageRun {
        let model = self.model;
        let input: Vec<f32> = image.iter().copied().collect();
        let t_max = timesteps.last().copied().unwrap_or(0);
        let mut out = ImageRun {
            layer_spikes: vec![0; model.layers.len()],
            layer_synops: vec![0; model.layers.len()],
            ..Default::default()
        };
        for (li, layer) in model.layers.iter().enumerate() {
            let start = match layer.neurons {
                Neurons::IntegrateAndFire { threshold } => model.h * threshold,
                _ => 0.0,
            };
            self.v[li].fill(start);
            self.counts[li].fill(0);
            self.spikes[li].clear();
            if self.constant[li] {
                let (cur, macs) = self.input_current(li, &input);
                out.input_macs += macs;
                self.current[li] = cur;
            }
        }
        let (mut total_spikes, mut total_synops) = (0u64, 0u64);
        let mut next_checkpoint = 0;
        for t in 1..=t_max {
            for li in 0..model.layers.len() {
                let layer = &model.layers[li];
                if let Neurons::MaxGate { size, strides, pad } = layer.neurons {
                    let src = match layer.gate_source {
                        Some(Source::Layer(s)) => s,
                        _ => unreachable!("a gate reads a spiking layer"),
                    };
                    let (before, rest) = self.spikes.split_at_mut(li);
                    let out_spikes = &mut rest[0];
                    out_spikes.clear();
                    gate(
                        &before[src],
                        &self.counts[src],
                        self.out_dims[src],
                        self.out_dims[li],
                        size,
                        strides,
                        (pad.top, pad.left),
                        out_spikes,
                    );
                } else {
                    if !self.constant[li] {
                        total_synops += self.propagate(li, &mut out.layer_synops[li]);
                    }
                    let (v, cur) = (&mut self.v[li], &self.current[li]);
                    let spikes = &mut self.spikes[li];
                    spikes.clear();
                    match layer.neurons {
                        Neurons::IntegrateAndFire { threshold } => {
                            for (i, (v, &c)) in v.iter_mut().zip(cur).enumerate() {
                                *v += c;
                                if *v >= threshold {
                                    *v -= threshold;
                                    spikes.push(i as u32);
                                }
                            }
                        }
                        _ => {
                            for (v, &c) in v.iter_mut().zip(cur) {
                                *v += c;
                            }
                        }
                    }
                }
                let n = self.spikes[li].len() as u64;
                out.layer_spikes[li] += n;
                total_spikes += n;
                for &i in &self.spikes[li] {
                    self.counts[li][i as usize] += 1;
                }
            }
            while next_checkpoint < timesteps.len() && timesteps[next_checkpoint] == t {
                let readout = self.v.last().expect("a model has a readout layer");
                out.predictions.push(argmax(readout));
                out.spikes.push(total_spikes);
                out.synops.push(total_synops);
                next_checkpoint += 1;
            }
        }
        out
    }

    /// Current of layer `li` for this step: bias plus the fan-out of every
    /// spike of its source layers. Returns the synaptic operations done.
    fn propagate(&mut self, li: usize, layer_synops: &mut u64) -> u64 {
        let layer = &self.model.layers[li];
        let out = self.out_dims[li];
        let current = &mut self.current[li];
        match &layer.bias {
            Some(b) => {
                for (px, chunk) in current.chunks_exact_mut(out.c).enumerate() {
                    let _ = px;
                    chunk.copy_from_slice(b);
                }
            }
            None => current.fill(0.0),
        }
        let mut ops = 0;
        for (ci, conn) in layer.inputs.iter().enumerate() {
            let Source::Layer(src) = conn.source else {
                unreachable!("analog inputs only feed constant layers")
            };
            let events = self.spikes[src].iter().map(|&i| (i as usize, 1.0f32));
            ops += scatter(
                &conn.synapses,
                events,
                self.src_dims[li][ci],
                out,
                &self.inv_counts[li][ci],
                current,
            );
        }
        *layer_synops += ops;
        ops
    }

    /// The constant current of a layer fed only by the analog input, and
    /// the multiply-accumulates it took.
    fn input_current(&self, li: usize, input: &[f32]) -> (Vec<f32>, u64) {
        let layer = &self.model.layers[li];
        let out = self.out_dims[li];
        let mut current = vec![0.0; layer.size()];
        if let Some(b) = &layer.bias {
            for chunk in current.chunks_exact_mut(out.c) {
                chunk.copy_from_slice(b);
            }
        }
        let mut macs = 0;
        for (ci, conn) in layer.inputs.iter().enumerate() {
            let events = input
                .iter()
                .enumerate()
                .filter(|(_, &x)| x != 0.0)
                .map(|(i, &x)| (i, x));
            macs += scatter(
                &conn.synapses,
                events,
                self.src_dims[li][ci],
                out,
                &self.inv_counts[li][ci],
                &mut current,
            );
        }
        (current, macs)
    }
}

/// Add each event's weighted fan-out to `current`; returns the number of
/// synaptic operations (targets reached), counted exactly.
fn scatter(
    synapses: &Synapses,
    events: impl Iterator<Item = (usize, f32)>,
    src: Dims,
    out: Dims,
    inv_counts: &[f32],
    current: &mut [f32],
) -> u64 {
    let mut ops = 0u64;
    match synapses {
        Synapses::Conv {
            kernel,
            strides,
            pad,
        } => {
            let (kh, kw, cin, cout) = kernel.dim();
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            for (idx, value) in events {
                let ci = idx % cin;
                let px = idx / cin;
                let (y, x) = (px / src.w, px % src.w);
                for (ky, oy) in targets(y + pad.top, kh, strides.0, out.h) {
                    for (kx, ox) in targets(x + pad.left, kw, strides.1, out.w) {
                        let row = &k[((ky * kw + kx) * cin + ci) * cout..][..cout];
                        let dst = &mut current[(oy * out.w + ox) * cout..][..cout];
                        for (d, &w) in dst.iter_mut().zip(row) {
                            *d += w * value;
                        }
                        ops += cout as u64;
                    }
                }
            }
        }
        Synapses::Dense { kernel } => {
            let units = kernel.dim().1;
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            for (idx, value) in events {
                for (d, &w) in current.iter_mut().zip(&k[idx * units..][..units]) {
                    *d += w * value;
                }
                ops += units as u64;
            }
        }
        Synapses::AvgPool {
            size,
            strides,
            pad,
            scale,
        } => {
            for (idx, value) in events {
                let c = idx % src.c;
                let px = idx / src.c;
                let (y, x) = (px / src.w, px % src.w);
                for (_, oy) in targets(y + pad.top, size.0, strides.0, out.h) {
                    for (_, ox) in targets(x + pad.left, size.1, strides.1, out.w) {
                        let o = oy * out.w + ox;
                        current[o * out.c + c] += scale[c] * inv_counts[o] * value;
                        ops += 1;
                    }
                }
            }
        }
        Synapses::GlobalAvgPool { scale } => {
            let inv = 1.0 / (src.h * src.w) as f32;
            for (idx, value) in events {
                let c = idx % src.c;
                current[c] += scale[c] * inv * value;
                ops += 1;
            }
        }
        Synapses::Identity { scale } => {
            for (idx, value) in events {
                current[idx] += scale[idx % src.c] * value;
                ops += 1;
            }
        }
    }
    ops
}

/// Output positions (with the kernel offset reaching them) along one axis for
/// an input at padded coordinate `p`: all `o` with `o * s <= p < o * s + k`.
fn targets(p: usize, k: usize, s: usize, out: usize) -> impl Iterator<Item = (usize, usize)> {
    let lo = (p + 1).saturating_sub(k).div_ceil(s);
    let hi = (p / s).min(out.saturating_sub(1));
    (lo..=hi)
        .filter(move |_| out > 0)
        .map(move |o| (p - o * s, o))
}

/// 1 / number of in-bounds inputs of each output window (TensorFlow's
/// average pooling ignores padding).
fn window_inv_counts(
    src: Dims,
    out: Dims,
    size: (usize, usize),
    strides: (usize, usize),
    top: usize,
    left: usize,
) -> Vec<f32> {
    let axis = |o: usize, s: usize, k: usize, pad: usize, n: usize| {
        let start = (o * s).saturating_sub(pad);
        let end = (o * s + k).saturating_sub(pad).min(n);
        end.saturating_sub(start)
    };
    let mut inv = Vec::with_capacity(out.h * out.w);
    for oy in 0..out.h {
        for ox in 0..out.w {
            let n =
                axis(oy, strides.0, size.0, top, src.h) * axis(ox, strides.1, size.1, left, src.w);
            inv.push(if n == 0 { 0.0 } else { 1.0 / n as f32 });
        }
    }
    inv
}

/// Spiking max pooling: each window passes the spikes of its input with the
/// highest count so far (ties: first in row-major order). Only a window
/// whose winner spiked this step can emit, so only spiking inputs are
/// visited; the winner's own visit emits, so each window emits at most once.
#[allow(clippy::too_many_arguments)]
fn gate(
    src_spikes: &[u32],
    counts: &[u32],
    src: Dims,
    out: Dims,
    size: (usize, usize),
    strides: (usize, usize),
    pad: (usize, usize),
    emitted: &mut Vec<u32>,
) {
    for &idx in src_spikes {
        let idx = idx as usize;
        let c = idx % src.c;
        let px = idx / src.c;
        let (y, x) = (px / src.w, px % src.w);
        for (_, oy) in targets(y + pad.0, size.0, strides.0, out.h) {
            for (_, ox) in targets(x + pad.1, size.1, strides.1, out.w) {
                let y0 = (oy * strides.0).saturating_sub(pad.0);
                let y1 = (oy * strides.0 + size.0).saturating_sub(pad.0).min(src.h);
                let x0 = (ox * strides.1).saturating_sub(pad.1);
                let x1 = (ox * strides.1 + size.1).saturating_sub(pad.1).min(src.w);
                let mut best = usize::MAX;
                let mut best_count = 0;
                for wy in y0..y1 {
                    for wx in x0..x1 {
                        let i = (wy * src.w + wx) * src.c + c;
                        if best == usize::MAX || counts[i] > best_count {
                            best = i;
                            best_count = counts[i];
                        }
                    }
                }
                if best == idx {
                    emitted.push(((oy * out.w + ox) * out.c + c) as u32);
                }
            }
        }
    }
}

/// Index of the largest potential; ties go to the lowest index.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_enumerates_windows_covering_a_position() {
        // k=3, s=2, 4 outputs: padded position 4 is in windows 1 (2..5) and 2 (4..7).
        let t: Vec<_> = targets(4, 3, 2, 4).collect();
        assert_eq!(t, vec![(2, 1), (0, 2)]);
        // Position 0 is only in window 0; beyond the last window: none.
        assert_eq!(targets(0, 3, 2, 4).collect::<Vec<_>>(), vec![(0, 0)]);
        assert!(targets(9, 3, 2, 4).next().is_none());
    }
}
