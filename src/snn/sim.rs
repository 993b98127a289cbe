//! Float, time-stepped simulation of an `SnnModel` (docs/ecc.md dynamics).
//!
//! Per step `t = 1..T`, layers in order; spikes of a layer reach the next in
//! the same step. Propagation is event driven: only neurons that spiked send
//! current, so the work grows with spikes (SynOps), not neurons x T. The
//! analog input's current is constant, so it is computed once per image.
//! All buffers are allocated once per worker thread and reused per image.

use ndarray::ArrayView3;

use super::cutoff::{self, Lead, Watch};
use super::engine::{Engine, ImageRun};
use super::fanout::{gate, scatter_conv, scatter_dense, FanOut};
use super::model::{Neurons, SnnModel, Source, Synapses};
#[cfg(target_arch = "x86_64")]
use super::pack::pack_quad;
use super::trace::{Potentials, SpikeTrace};
use crate::reference::argmax;

use super::dense::{propagate_dense, DenseScratch, Dims};

/// How spikes are turned into currents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Only the synapses of neurons that fired (work grows with spikes).
    Event,
    /// Every synapse every step (GEMM-style; the benchmark's baseline).
    Dense,
    /// Per connection and step, dense when the source's firing fraction this
    /// step is above `DENSE_ABOVE`, else event driven.
    #[default]
    Auto,
}

/// Firing fraction above which dense propagation is cheaper, measured with
/// `cargo bench --bench simulate` on this project's 2-core machines
/// (event cost grows with spikes, dense cost is fixed per step).
pub const DENSE_ABOVE: f32 = 0.25;

/// Per-thread simulation state, reused across images.
pub struct Simulator<'m> {
    model: &'m SnnModel,
    src_dims: Vec<Vec<Dims>>,
    out_dims: Vec<Dims>,
    /// Whether a layer's current is the same every step (inputs all analog).
    constant: Vec<bool>,
    /// Per layer, per connection: which outputs each source pixel reaches.
    fanout: Vec<Vec<FanOut>>,
    v: Vec<Vec<f32>>,
    current: Vec<Vec<f32>>,
    spikes: Vec<Vec<u32>>,
    counts: Vec<Vec<u32>>,
    /// Room for every neuron index of the largest layer (spike compaction).
    scratch: Vec<u32>,
    propagation: Propagation,
    dense: DenseScratch,
    /// Each layer's bias broadcast over its pixels (zeros without a bias).
    bias_maps: Vec<Vec<f32>>,
}

impl<'m> Simulator<'m> {
    pub fn new(model: &'m SnnModel) -> Simulator<'m> {
        Simulator::with_propagation(model, Propagation::default())
    }

    pub fn with_propagation(model: &'m SnnModel, propagation: Propagation) -> Simulator<'m> {
        let out_dims: Vec<Dims> = model.layers.iter().map(|l| Dims::of(l.shape)).collect();
        let source_dims = |s: Source| match s {
            Source::Input => Dims::of(model.input_shape),
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
        let fanout = model
            .layers
            .iter()
            .enumerate()
            .map(|(li, l)| {
                l.inputs
                    .iter()
                    .map(|c| fanout_of(&c.synapses, source_dims(c.source), out_dims[li]))
                    .collect()
            })
            .collect();
        let sizes: Vec<usize> = model.layers.iter().map(|l| l.size()).collect();
        let bias_maps = model
            .layers
            .iter()
            .zip(&out_dims)
            .map(|(l, d)| match &l.bias {
                Some(b) => (0..l.size()).map(|i| b.at(i, d.c)).collect(),
                None => vec![0.0; l.size()],
            })
            .collect();
        Simulator {
            model,
            src_dims,
            out_dims,
            constant,
            fanout,
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            current: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            spikes: sizes.iter().map(|&n| Vec::with_capacity(n)).collect(),
            counts: sizes.iter().map(|&n| vec![0; n]).collect(),
            scratch: vec![0; sizes.iter().copied().max().unwrap_or(0) + 4],
            propagation,
            dense: DenseScratch::default(),
            bias_maps,
        }
    }
}

impl Simulator<'_> {
    /// The read-out's lead now: potentials, or spike counts for a
    /// spike-count read-out (docs/fixed-point.md §4.6).
    fn lead(&self) -> Option<Lead<f64>> {
        let last = self.model.layers.len() - 1;
        match self.model.layers[last].neurons {
            Neurons::SpikeCountReadout { .. } => cutoff::lead_counts_f64(&self.counts[last]),
            _ => cutoff::lead_f32(&self.v[last]),
        }
    }

    /// Simulate one image (`H x W x C`) up to the largest of `timesteps`
    /// (sorted ascending), reading out at each of them, or until `watch`
    /// stops it.
    fn run_inner(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: &[usize],
        mut watch: Watch<'_, f64>,
        mut trace: Option<&mut SpikeTrace>,
    ) -> ImageRun {
        let model = self.model;
        let input: Vec<f32> = image.iter().copied().collect();
        let t_max = timesteps.last().copied().unwrap_or(0);
        let mut out = ImageRun {
            layer_spikes: vec![0; model.layers.len()],
            layer_synops: vec![0; model.layers.len()],
            layer_overflows: vec![0; model.layers.len()],
            ..Default::default()
        };
        for (li, layer) in model.layers.iter().enumerate() {
            match layer.neurons {
                Neurons::IntegrateAndFire { threshold }
                | Neurons::SpikeCountReadout { threshold } => {
                    // Channels last: neuron i is channel i % c.
                    let h = model.h_of(li);
                    let c = layer.shape.channels();
                    for (i, v) in self.v[li].iter_mut().enumerate() {
                        *v = h.at(i % c) * threshold;
                    }
                }
                _ => self.v[li].fill(0.0),
            }
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
        if let Some(trace) = trace.as_deref_mut() {
            for li in 0..self.v.len() {
                trace.push_float(li, &self.v[li]);
            }
        }
        for t in 1..=t_max {
            for li in 0..model.layers.len() {
                let layer = &model.layers[li];
                if let Neurons::MaxGate { size, strides, pad } = layer.neurons {
                    let src = match layer.gate_source {
                        Some(Source::Layer(s)) => s,
                        _ => unreachable!("a gate reads a spiking layer"),
                    };
                    let (spikes_before, spikes_rest) = self.spikes.split_at_mut(li);
                    let (counts_before, counts_rest) = self.counts.split_at_mut(li);
                    let out_spikes = &mut spikes_rest[0];
                    out_spikes.clear();
                    gate(
                        &spikes_before[src],
                        &counts_before[src],
                        &mut counts_rest[0],
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
                        Neurons::IntegrateAndFire { threshold }
                        | Neurons::SpikeCountReadout { threshold } => {
                            integrate_and_fire(v, cur, threshold, &mut self.scratch, spikes);
                            let burst = model.burst_at(li, t);
                            if burst > 1 {
                                super::burst::fire_again(v, threshold, burst - 1, spikes);
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
                if !matches!(layer.neurons, Neurons::MaxGate { .. }) {
                    for &i in &self.spikes[li] {
                        self.counts[li][i as usize] += 1;
                    }
                }
            }
            if let Some(trace) = trace.as_deref_mut() {
                trace.timesteps = t;
                for li in 0..self.v.len() {
                    trace.push_spikes(li, &self.spikes[li]);
                    trace.push_float(li, &self.v[li]);
                }
            }
            let stop = watch.active() && watch.step(self.lead());
            // A stopped image answers every longer T as it is now.
            while next_checkpoint < timesteps.len() && (timesteps[next_checkpoint] == t || stop) {
                let last = model.layers.len() - 1;
                let class = match model.layers[last].neurons {
                    Neurons::SpikeCountReadout { .. } => argmax(&self.counts[last]),
                    _ => argmax(&self.v[last]),
                };
                out.predictions.push(class);
                out.spikes.push(total_spikes);
                out.synops.push(total_synops);
                out.steps.push(t);
                next_checkpoint += 1;
            }
            if stop {
                break;
            }
        }
        out
    }
}

impl Simulator<'_> {
    /// Current of layer `li` for this step: bias plus the fan-out of every
    /// spike of its source layers. Returns the synaptic operations done.
    fn propagate(&mut self, li: usize, layer_synops: &mut u64) -> u64 {
        let layer = &self.model.layers[li];
        let out = self.out_dims[li];
        let current = &mut self.current[li];
        // One bulk copy of the bias map per step (per-pixel copies of a few
        // channels each were a measurable share of the step).
        current.copy_from_slice(&self.bias_maps[li]);
        let mut ops = 0;
        for (ci, conn) in layer.inputs.iter().enumerate() {
            let Source::Layer(src) = conn.source else {
                unreachable!("analog inputs only feed constant layers")
            };
            let spikes = &self.spikes[src];
            let src_dims = self.src_dims[li][ci];
            let n_src = src_dims.h * src_dims.w * src_dims.c;
            let dense = match self.propagation {
                Propagation::Event => false,
                Propagation::Dense => true,
                Propagation::Auto => spikes.len() as f32 > DENSE_ABOVE * n_src as f32,
            };
            if dense {
                propagate_dense(
                    &conn.synapses,
                    spikes,
                    src_dims,
                    out,
                    &mut self.dense,
                    current,
                );
                ops += count_synops(&conn.synapses, spikes, src_dims, &self.fanout[li][ci]);
            } else {
                ops += scatter_spikes(
                    &conn.synapses,
                    spikes,
                    src_dims,
                    &self.fanout[li][ci],
                    current,
                );
            }
        }
        *layer_synops += ops;
        ops
    }

    /// The constant current of a layer fed only by the analog input, and
    /// the multiply-accumulates it took.
    fn input_current(&self, li: usize, input: &[f32]) -> (Vec<f32>, u64) {
        let layer = &self.model.layers[li];
        let mut current = self.bias_maps[li].clone();
        let mut macs = 0;
        for (ci, conn) in layer.inputs.iter().enumerate() {
            let events = input
                .iter()
                .enumerate()
                .filter(|(_, &x)| x != 0.0)
                .map(|(i, &x)| (i, x));
            macs += scatter_values(
                &conn.synapses,
                events,
                self.src_dims[li][ci],
                &self.fanout[li][ci],
                &mut current,
            );
        }
        (current, macs)
    }
}

/// The routing tables of a float synapse group (empty for dense and
/// one-to-one groups, which need none).
fn fanout_of(synapses: &Synapses, src: Dims, out: Dims) -> FanOut {
    match synapses {
        Synapses::Conv {
            kernel,
            strides,
            pad,
        } => {
            let (kh, kw, cin, cout) = kernel.dim();
            FanOut::windows((kh, kw), *strides, *pad, cin * cout, src, out, false)
        }
        Synapses::AvgPool {
            size, strides, pad, ..
        } => FanOut::windows(*size, *strides, *pad, 0, src, out, true),
        _ => FanOut::default(),
    }
}

/// Synaptic operations the spikes cause (what `scatter_spikes` counts).
fn count_synops(synapses: &Synapses, spikes: &[u32], src: Dims, fanout: &FanOut) -> u64 {
    match synapses {
        Synapses::Conv { kernel, .. } => {
            let (_, _, cin, cout) = kernel.dim();
            spikes
                .iter()
                .map(|&i| (fanout.of(i as usize / cin).len() * cout) as u64)
                .sum()
        }
        Synapses::Dense { kernel } => (spikes.len() * kernel.dim().1) as u64,
        Synapses::AvgPool { .. } => spikes
            .iter()
            .map(|&i| fanout.of(i as usize / src.c).len() as u64)
            .sum(),
        Synapses::GlobalAvgPool { .. } | Synapses::Identity { .. } => spikes.len() as u64,
    }
}

/// Add the fan-out of binary spikes to `current` (no multiplications: a
/// spike adds the weight itself). Returns the synaptic operations done,
/// counted exactly (one per target reached).
fn scatter_spikes(
    synapses: &Synapses,
    spikes: &[u32],
    src: Dims,
    fanout: &FanOut,
    current: &mut [f32],
) -> u64 {
    let mut ops = 0u64;
    match synapses {
        Synapses::Conv { kernel, .. } => {
            let (_, _, cin, cout) = kernel.dim();
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            ops += scatter_conv(k, cin, cout, spikes, fanout, current);
        }
        Synapses::Dense { kernel } => {
            let units = kernel.dim().1;
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            ops += scatter_dense(k, units, spikes, current);
        }
        Synapses::AvgPool { scale, .. } => {
            for &idx in spikes {
                let idx = idx as usize;
                let (px, c) = (idx / src.c, idx % src.c);
                let taps = fanout.of(px);
                for &(_, o_px) in taps {
                    let o = o_px as usize;
                    current[o * src.c + c] += scale[c] * fanout.inv_counts[o];
                }
                ops += taps.len() as u64;
            }
        }
        Synapses::GlobalAvgPool { scale } => {
            let inv = 1.0 / (src.h * src.w) as f32;
            for &idx in spikes {
                let c = idx as usize % src.c;
                current[c] += scale[c] * inv;
            }
            ops += spikes.len() as u64;
        }
        Synapses::Identity { scale } => {
            for &idx in spikes {
                let idx = idx as usize;
                current[idx] += scale[idx % src.c];
            }
            ops += spikes.len() as u64;
        }
    }
    ops
}

/// One step of a layer of IF neurons (docs/ecc.md): `V += I`; where
/// `V >= theta`, spike and `V -= theta`. Spiking neurons' indices are
/// appended to `spikes` in increasing order.
///
/// This loop runs over every neuron every step, so it is one of the
/// simulator's hot spots. It is branch free: whether a neuron fired is
/// close to random, and a mispredicted branch per firing neuron cost more
/// than the arithmetic. On x86-64 it works four neurons at a time with SSE2
/// (part of the x86-64 baseline) and left-packs the indices of the lanes
/// that fired with a table lookup; elsewhere a scalar loop does the same.
#[inline(always)]
fn integrate_and_fire(
    v: &mut [f32],
    current: &[f32],
    threshold: f32,
    scratch: &mut [u32],
    spikes: &mut Vec<u32>,
) {
    // Four lanes of slack: the packed store writes a whole quad.
    assert!(scratch.len() >= v.len() + 4 && current.len() == v.len());
    let mut count = 0usize;
    #[cfg(target_arch = "x86_64")]
    let done = {
        let quads = v.len() / 4 * 4;
        // SAFETY: SSE2 is always present on x86-64; loads and stores of `v`
        // and `current` are below `quads <= v.len()`; the packed store
        // writes `scratch[count..count + 4]` with `count <= base < v.len()`
        // and `scratch.len() >= v.len() + 4` (asserted above).
        unsafe {
            use std::arch::x86_64::*;
            let th = _mm_set1_ps(threshold);
            let out = scratch.as_mut_ptr();
            for base in (0..quads).step_by(4) {
                let pv = v.as_mut_ptr().add(base);
                let x = _mm_add_ps(_mm_loadu_ps(pv), _mm_loadu_ps(current.as_ptr().add(base)));
                let fire = _mm_cmpge_ps(x, th);
                _mm_storeu_ps(pv, _mm_sub_ps(x, _mm_and_ps(fire, th)));
                let mask = _mm_movemask_ps(fire) as usize;
                count += pack_quad(mask, base as u32, out.add(count));
            }
        }
        quads
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    for (i, (v, &c)) in v.iter_mut().zip(current).enumerate().skip(done) {
        let x = *v + c;
        let fire = x >= threshold;
        *v = if fire { x - threshold } else { x };
        // count <= i < scratch.len(), so the index is in bounds.
        scratch[count] = i as u32;
        count += usize::from(fire);
    }
    spikes.extend_from_slice(&scratch[..count]);
}

/// Add the fan-out of analog values (the input image) to `current`;
/// returns the multiply-accumulates done. It walks the same fan-out tables as
/// `scatter_spikes`, kept separate on purpose: that one is the hot loop and
/// adds weights without multiplying, this one runs once per image.
fn scatter_values(
    synapses: &Synapses,
    values: impl Iterator<Item = (usize, f32)>,
    src: Dims,
    fanout: &FanOut,
    current: &mut [f32],
) -> u64 {
    let mut ops = 0u64;
    match synapses {
        Synapses::Conv { kernel, .. } => {
            let (_, _, cin, cout) = kernel.dim();
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            for (idx, value) in values {
                let (px, ci) = (idx / cin, idx % cin);
                for &(k_off, o_px) in fanout.of(px) {
                    let row = &k[k_off as usize + ci * cout..][..cout];
                    let dst = &mut current[o_px as usize * cout..][..cout];
                    for (d, &w) in dst.iter_mut().zip(row) {
                        *d += w * value;
                    }
                    ops += cout as u64;
                }
            }
        }
        Synapses::Dense { kernel } => {
            let units = kernel.dim().1;
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            for (idx, value) in values {
                for (d, &w) in current.iter_mut().zip(&k[idx * units..][..units]) {
                    *d += w * value;
                }
                ops += units as u64;
            }
        }
        Synapses::AvgPool { scale, .. } => {
            for (idx, value) in values {
                let (px, c) = (idx / src.c, idx % src.c);
                for &(_, o_px) in fanout.of(px) {
                    let o = o_px as usize;
                    current[o * src.c + c] += scale[c] * fanout.inv_counts[o] * value;
                    ops += 1;
                }
            }
        }
        Synapses::GlobalAvgPool { scale } => {
            let inv = 1.0 / (src.h * src.w) as f32;
            for (idx, value) in values {
                let c = idx % src.c;
                current[c] += scale[c] * inv * value;
                ops += 1;
            }
        }
        Synapses::Identity { scale } => {
            for (idx, value) in values {
                current[idx] += scale[idx % src.c] * value;
                ops += 1;
            }
        }
    }
    ops
}

impl Engine for Simulator<'_> {
    fn counts(&self) -> &[Vec<u32>] {
        &self.counts
    }

    type Margin = f64;

    fn run_watched(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: &[usize],
        watch: Watch<'_, f64>,
    ) -> ImageRun {
        self.run_inner(image, timesteps, watch, None)
    }

    fn potentials(&self, layer: usize) -> Potentials {
        match self.model.layers[layer].neurons {
            Neurons::MaxGate { .. } => Potentials::None,
            _ => Potentials::Float(self.v[layer].clone()),
        }
    }

    fn trace_cutoff(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: usize,
        cutoff: Option<f64>,
    ) -> SpikeTrace {
        let mut trace = SpikeTrace::new(self.model.layers.iter().map(|l| {
            (
                l.name.clone(),
                l.shape.len(),
                if matches!(l.neurons, Neurons::MaxGate { .. }) {
                    Potentials::None
                } else {
                    Potentials::Float(Vec::new())
                },
            )
        }));
        self.run_inner(image, &[timesteps], Watch::stop(cutoff), Some(&mut trace));
        trace
    }
}

/// What the float read-out holds after one image runs for `timesteps`
/// steps, or until its margin reaches `cutoff` (docs/fixed-point.md §4.6):
/// the read-out layer's potentials, or its spike counts for a spike-count
/// read-out; with the steps run and the run's activity.
pub fn readout_run_cutoff(
    model: &SnnModel,
    image: ArrayView3<f32>,
    timesteps: usize,
    cutoff: Option<f64>,
) -> (Vec<f32>, usize, ImageRun) {
    let mut sim = Simulator::new(model);
    let run = sim.run_inner(image, &[timesteps], Watch::stop(cutoff), None);
    let last = model.layers.len() - 1;
    let values = match model.layers[last].neurons {
        Neurons::SpikeCountReadout { .. } => sim.counts[last].iter().map(|&c| c as f32).collect(),
        _ => sim.v[last].clone(),
    };
    let steps = run.steps.first().copied().unwrap_or(0);
    (values, steps, run)
}

/// Every layer's spikes and potentials at every step of one image, ending
/// at the cutoff step if its margin reaches `cutoff` first.
pub fn trace_cutoff(
    model: &SnnModel,
    image: ArrayView3<f32>,
    timesteps: usize,
    cutoff: Option<f64>,
) -> SpikeTrace {
    Simulator::new(model).trace_cutoff(image, timesteps, cutoff)
}

#[cfg(test)]
mod tests {
    use super::super::fanout::targets;
    use super::*;
    use crate::ir::{Pad, Shape};
    use crate::snn::{Bias, Connection, SnnLayer};
    use ndarray::{Array2, Array3, Array4};

    #[test]
    fn targets_enumerates_windows_covering_a_position() {
        // k=3, s=2, 4 outputs: padded position 4 is in windows 1 (2..5) and 2 (4..7).
        let t: Vec<_> = targets(4, 3, 2, 4).collect();
        assert_eq!(t, vec![(2, 1), (0, 2)]);
        // Position 0 is only in window 0; beyond the last window: none.
        assert_eq!(targets(0, 3, 2, 4).collect::<Vec<_>>(), vec![(0, 0)]);
        assert!(targets(9, 3, 2, 4).next().is_none());
    }

    fn dense(w: &[f32], rows: usize) -> Synapses {
        Synapses::Dense {
            kernel: Array2::from_shape_vec((rows, w.len() / rows), w.to_vec()).unwrap(),
        }
    }

    fn layer(
        name: &str,
        n: usize,
        neurons: Neurons,
        inputs: Vec<Connection>,
        bias: Option<Vec<f32>>,
    ) -> SnnLayer {
        SnnLayer {
            name: name.into(),
            shape: Shape::Vector { n },
            neurons,
            inputs,
            gate_source: None,
            bias: bias.map(Bias::Channel),
            lambda: vec![1.0; n],
            burst: 1,
        }
    }

    const IF: Neurons = Neurons::IntegrateAndFire { threshold: 1.0 };

    /// Input 1.0 -> IF `a` (w 0.25, bias 0.125: current 0.375, exact in
    /// binary) -> IF `b` (weight -0.5 from `a`, bias 0.25) -> readout (1.0
    /// from `a`, 1.0 from `b`).
    fn chain(h: f32) -> SnnModel {
        SnnModel {
            name: "chain".into(),
            input_shape: Shape::Vector { n: 1 },
            h_layers: None,
            layers: vec![
                layer(
                    "a",
                    1,
                    IF,
                    vec![Connection {
                        source: Source::Input,
                        synapses: dense(&[0.25], 1),
                    }],
                    Some(vec![0.125]),
                ),
                layer(
                    "b",
                    1,
                    IF,
                    vec![Connection {
                        source: Source::Layer(0),
                        synapses: dense(&[-0.5], 1),
                    }],
                    Some(vec![0.25]),
                ),
                layer(
                    "out",
                    1,
                    Neurons::Readout,
                    vec![
                        Connection {
                            source: Source::Layer(0),
                            synapses: dense(&[1.0], 1),
                        },
                        Connection {
                            source: Source::Layer(1),
                            synapses: dense(&[1.0], 1),
                        },
                    ],
                    None,
                ),
            ],
            h,
            cnn_macs: 0,
            burst_after: 0,
            input_range: None,
        }
    }

    /// Spike trains of layers a and b, step by step, for `steps` steps.
    fn trains(model: &SnnModel, steps: usize) -> (Vec<u32>, Vec<u32>) {
        let mut sim = Simulator::new(model);
        let x = Array3::from_elem((1, 1, 1), 1.0f32);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for t in 1..=steps {
            sim.run(x.view(), &[t]);
            a.push(sim.counts()[0][0]);
            b.push(sim.counts()[1][0]);
        }
        // Cumulative counts -> per-step spikes.
        let diff = |c: Vec<u32>| {
            let mut prev = 0;
            c.into_iter()
                .map(|v| {
                    let d = v - prev;
                    prev = v;
                    d
                })
                .collect()
        };
        (diff(a), diff(b))
    }

    #[test]
    fn if_neuron_matches_hand_computed_trains_without_offset() {
        // h = 0, current 0.375: V = .375 .75 1.125->.125* .5 .875 1.25->.25* .625 1.0->0*
        let (a, b) = trains(&chain(0.0), 8);
        assert_eq!(a, vec![0, 0, 1, 0, 0, 1, 0, 1]);
        // b: bias 0.25 each step, -0.5 on the steps a fires (same step):
        // .25 .5 .25 .5 .75 .5 .75 .5 -> never reaches 1.
        assert_eq!(b, vec![0; 8]);
    }

    /// `chain(0)` with layer a's current raised to 2.375 (bias 2.125) and
    /// `burst` spikes a step allowed in a.
    fn bursting_chain(burst: u32) -> SnnModel {
        let mut model = chain(0.0);
        model.layers[0].bias = Some(Bias::Channel(vec![2.125]));
        model.layers[0].burst = burst;
        crate::snn::check_model(&model).unwrap();
        model
    }

    #[test]
    fn burst_spikes_fire_and_subtract_up_to_the_burst_each_step() {
        // Burst 3: V = 2.375->2 spikes .375, 2.75->2 .75, 3.125->3 .125,
        // 2.5->2 .5, 2.875->2 .875, 3.25->3 .25: the rate limit 2.375.
        let (a, b) = trains(&bursting_chain(3), 6);
        assert_eq!(a, vec![2, 2, 3, 2, 2, 3]);
        // b: .25 - .5 per spike of a: never fires.
        assert_eq!(b, vec![0; 6]);
        // Burst 2 clips at two a step (V grows by .375 a step instead).
        let (a, _) = trains(&bursting_chain(2), 6);
        assert_eq!(a, vec![2; 6]);
        // The read-out adds a's weight once per spike.
        let model = bursting_chain(3);
        let mut sim = Simulator::new(&model);
        let run = sim.run(Array3::from_elem((1, 1, 1), 1.0f32).view(), &[6]);
        assert_eq!(sim.v[2][0], 14.0);
        // SynOps: 14 spikes of a x 2 targets (b and out).
        assert_eq!(run.synops, vec![28]);
    }

    #[test]
    fn bursts_begin_after_burst_after_steps_and_release_the_kept_charge() {
        // Burst 3 after two steps: one spike a step while V climbs by
        // 1.375 (2.375->1 1.375, 3.75->1 2.75), then 5.125->3 2.125,
        // 4.5->3 1.5, 3.875->3 .875, 3.25->3 .25: the kept charge is
        // released, so six steps give 14 spikes as bursts from the first.
        let mut model = bursting_chain(3);
        model.burst_after = 2;
        let (a, _) = trains(&model, 6);
        assert_eq!(a, vec![1, 1, 3, 3, 3, 3]);
        assert_eq!(a.iter().sum::<u32>(), 14);
        assert_eq!(model.burst_at(0, 2), 1);
        assert_eq!(model.burst_at(0, 3), 3);
    }

    #[test]
    fn burst_spikes_lift_the_rate_limit_to_the_burst() {
        let x = Array3::from_elem((1, 1, 1), 1.0f32);
        // The read-out's current per step: a's rate + b's (0).
        let out = |burst| crate::snn::rates::rate_limit_outputs(&bursting_chain(burst), x.view());
        assert_eq!(out(1), vec![1.0]);
        assert_eq!(out(2), vec![2.0]);
        assert_eq!(out(3), vec![2.375]);
    }

    #[test]
    fn if_neuron_with_half_threshold_offset_and_negative_current() {
        // h = 0.5: V0 = .5; .875 1.25->.25* .625 1.0->0* .375 .75 1.125->.125* .5
        let (a, b) = trains(&chain(0.5), 8);
        assert_eq!(a, vec![0, 1, 0, 1, 0, 0, 1, 0]);
        // b from .5: .75 .5 .75 .5 .75 1.0->0* then .25 (a spikes: -.5+.25) ...
        // step 7: V=0 +.25 -.5 = -.25 ; step 8: 0.0. Negative V is kept.
        assert_eq!(b, vec![0, 0, 0, 0, 0, 1, 0, 0]);
        let model = chain(0.5);
        let mut sim = Simulator::new(&model);
        let run = sim.run(Array3::from_elem((1, 1, 1), 1.0f32).view(), &[8]);
        // Readout: 3 spikes of a + 1 of b, weight 1 each.
        assert_eq!(sim.v[2][0], 4.0);
        assert_eq!(run.predictions, vec![0]);
        // Input MACs once (1 input x 1 unit), SynOps: 3 spikes of a x 2
        // targets (b and out) + 1 spike of b x 1.
        assert_eq!(run.input_macs, 1);
        assert_eq!(run.synops, vec![7]);
    }

    /// `a` of the chain (h = 0: spikes at steps 3, 6, 8) -> a 2-neuron
    /// readout: output 0 adds 1 per spike of `a`, output 1 a bias of 0.25
    /// per step. Leads (class, margin) after steps 1..8: (1, .25) (1, .5)
    /// (0, .25) (0, 0) tied (1, .25) (0, .5) (0, .25) (0, 1).
    fn two_outputs() -> SnnModel {
        let mut model = chain(0.0);
        model.layers.truncate(1);
        model.layers.push(layer(
            "out",
            2,
            Neurons::Readout,
            vec![Connection {
                source: Source::Layer(0),
                synapses: dense(&[1.0, 0.0], 1),
            }],
            Some(vec![0.0, 0.25]),
        ));
        model
    }

    #[test]
    fn cutoff_stops_where_the_margin_is_first_reached() {
        let model = two_outputs();
        let x = Array3::from_elem((1, 1, 1), 1.0f32);
        // Reached exactly at step 2.
        let (v, steps, run) = readout_run_cutoff(&model, x.view(), 8, Some(0.5));
        assert_eq!((v, steps, run.predictions), (vec![0.0, 0.5], 2, vec![1]));
        // Step 8's lead of 1 is the first to reach 0.75.
        let (v, steps, run) = readout_run_cutoff(&model, x.view(), 8, Some(0.75));
        assert_eq!((v, steps, run.predictions), (vec![3.0, 2.0], 8, vec![0]));
        // Never reached: the full run.
        let (_, steps, _) = readout_run_cutoff(&model, x.view(), 8, Some(1.5));
        assert_eq!(steps, 8);
        // The trace ends at the stop, its last row the stopped read-out.
        let trace = trace_cutoff(&model, x.view(), 8, Some(0.5));
        assert_eq!(trace.timesteps, 2);
        assert_eq!(trace.layers[1].spikes.len(), 2);
        assert_eq!(
            trace.layers[1].potentials,
            Potentials::Float(vec![0.0, 0.0, 0.0, 0.25, 0.0, 0.5])
        );
        // Requested lengths beyond the stop hold the stopped answer.
        let mut sim = Simulator::new(&model);
        let run = sim.run_watched(x.view(), &[1, 2, 8], Watch::stop(Some(0.5)));
        assert_eq!(run.steps, vec![1, 2, 2]);
        assert_eq!(run.predictions, vec![1, 1, 1]);
    }

    #[test]
    fn a_single_output_read_out_never_stops() {
        // The chain's readout has one neuron: no runner-up, no margin.
        let model = chain(0.5);
        let x = Array3::from_elem((1, 1, 1), 1.0f32);
        let (_, steps, _) = readout_run_cutoff(&model, x.view(), 8, Some(f64::MIN_POSITIVE));
        assert_eq!(steps, 8);
        let mut leads = Vec::new();
        let watch = Watch {
            cutoff: None,
            leads: Some(&mut leads),
        };
        Simulator::new(&model).run_watched(x.view(), &[8], watch);
        assert!(leads.is_empty());
    }

    #[test]
    fn synops_equal_an_independent_count_on_a_conv_net() {
        // Input 5x5x1 -> IF `a` (1x1 conv to 2 channels, constant current)
        // -> IF `b` (3x3 stride 2, pads 1/1) -> readout (dense).
        let a_kernel = Array4::from_shape_vec((1, 1, 1, 2), vec![0.3, 0.7]).unwrap();
        let b_kernel = Array4::from_shape_fn((3, 3, 2, 3), |(y, x, c, o)| {
            0.05 * (1 + y + x + c + o) as f32
        });
        let pad = Pad {
            top: 1,
            bottom: 1,
            left: 1,
            right: 1,
        };
        let model = SnnModel {
            name: "conv".into(),
            input_shape: Shape::Map { h: 5, w: 5, c: 1 },
            h_layers: None,
            layers: vec![
                SnnLayer {
                    name: "a".into(),
                    shape: Shape::Map { h: 5, w: 5, c: 2 },
                    neurons: IF,
                    inputs: vec![Connection {
                        source: Source::Input,
                        synapses: Synapses::Conv {
                            kernel: a_kernel,
                            strides: (1, 1),
                            pad: Pad::default(),
                        },
                    }],
                    gate_source: None,
                    bias: None,
                    lambda: vec![1.0; 2],
                    burst: 1,
                },
                SnnLayer {
                    name: "b".into(),
                    shape: Shape::Map { h: 3, w: 3, c: 3 },
                    neurons: IF,
                    inputs: vec![Connection {
                        source: Source::Layer(0),
                        synapses: Synapses::Conv {
                            kernel: b_kernel,
                            strides: (2, 2),
                            pad,
                        },
                    }],
                    gate_source: None,
                    bias: None,
                    lambda: vec![1.0; 3],
                    burst: 1,
                },
                layer(
                    "out",
                    4,
                    Neurons::Readout,
                    vec![Connection {
                        source: Source::Layer(1),
                        synapses: dense(&[0.1; 27 * 4], 27),
                    }],
                    None,
                ),
            ],
            h: 0.5,
            cnn_macs: 0,
            burst_after: 0,
            input_range: None,
        };
        let x = Array3::from_shape_fn((5, 5, 1), |(y, x, _)| ((y * 5 + x) % 7) as f32 / 6.0);
        let mut sim = Simulator::new(&model);
        let run = sim.run(x.view(), &[20]);
        // Independent count: a spike of a at (y, x, c) reaches every output
        // (oy, ox) whose 3x3 window, placed at (2*oy - 1, 2*ox - 1), covers
        // it, times 3 output channels.
        let mut expected = 0u64;
        for y in 0..5i64 {
            for xx in 0..5i64 {
                let mut windows = 0u64;
                for oy in 0..3i64 {
                    for ox in 0..3i64 {
                        let (y0, x0) = (2 * oy - 1, 2 * ox - 1);
                        if (y0..y0 + 3).contains(&y) && (x0..x0 + 3).contains(&xx) {
                            windows += 1;
                        }
                    }
                }
                for c in 0..2 {
                    let spikes = u64::from(sim.counts()[0][((y * 5 + xx) * 2 + c) as usize]);
                    expected += spikes * windows * 3;
                }
            }
        }
        assert!(expected > 0, "the test must exercise spikes");
        assert_eq!(run.layer_synops[1], expected);
        let b_spikes: u64 = sim.counts()[1].iter().map(|&c| u64::from(c)).sum();
        assert_eq!(run.layer_synops[2], b_spikes * 4);
        assert_eq!(run.synops[0], expected + b_spikes * 4);
    }

    #[test]
    fn max_gate_count_tracks_the_window_maximum() {
        // One 1x2 window over two inputs: A spikes at steps 1,2 ; B at 2,3,4.
        // Counts: A 1 2 2 2, B 0 1 2 3 -> max 1 2 2 3 -> gate spikes at 1,2,4.
        let src = Dims { h: 1, w: 2, c: 1 };
        let out = Dims { h: 1, w: 1, c: 1 };
        let trains: [&[u32]; 4] = [&[0], &[0, 1], &[1], &[1]];
        let mut counts = vec![0u32; 2];
        let mut gate_counts = vec![0u32; 1];
        let mut fired = Vec::new();
        for spikes in trains {
            for &i in spikes {
                counts[i as usize] += 1;
            }
            let mut emitted = Vec::new();
            gate(
                spikes,
                &counts,
                &mut gate_counts,
                src,
                out,
                (1, 2),
                (1, 2),
                (0, 0),
                &mut emitted,
            );
            fired.push(emitted.len());
        }
        assert_eq!(fired, vec![1, 1, 0, 1]);
        assert_eq!(gate_counts[0], 3);
    }

    #[test]
    fn vector_if_step_matches_a_plain_loop_at_every_length() {
        // The SIMD path handles quads and the scalar path the tail, so try
        // lengths around multiples of four and every firing pattern.
        let mut seed = 12345u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 0.5
        };
        for n in 0..41 {
            let mut v: Vec<f32> = (0..n).map(|_| next()).collect();
            let current: Vec<f32> = (0..n).map(|_| next()).collect();
            let (mut expect_v, mut expect_spikes) = (v.clone(), Vec::new());
            for (i, (v, &c)) in expect_v.iter_mut().zip(&current).enumerate() {
                *v += c;
                if *v >= 0.75 {
                    *v -= 0.75;
                    expect_spikes.push(i as u32);
                }
            }
            let mut scratch = vec![0; n + 4];
            let mut spikes = vec![99];
            integrate_and_fire(&mut v, &current, 0.75, &mut scratch, &mut spikes);
            assert_eq!(spikes[0], 99, "earlier spikes are kept");
            assert_eq!(spikes[1..], expect_spikes[..], "n = {n}");
            assert_eq!(v, expect_v, "n = {n}");
        }
    }

    #[test]
    fn event_conv_scatter_equals_dense_convolution_for_every_channel_count() {
        // 8, 16 and 32 take the specialised paths, 5 and 12 the generic one.
        for cout in [5, 8, 12, 16, 32] {
            let (src, out) = (
                Dims { h: 6, w: 5, c: 3 },
                Dims {
                    h: 3,
                    w: 3,
                    c: cout,
                },
            );
            let kernel = Array4::from_shape_fn((3, 3, 3, cout), |(y, x, i, o)| {
                ((y * 7 + x * 5 + i * 3 + o) % 11) as f32 * 0.25 - 1.0
            });
            let synapses = Synapses::Conv {
                kernel,
                strides: (2, 2),
                pad: Pad {
                    top: 1,
                    bottom: 1,
                    left: 1,
                    right: 1,
                },
            };
            let spikes: Vec<u32> = (0..90).filter(|i| i % 3 != 1).collect();
            let fanout = fanout_of(&synapses, src, out);
            let mut event = vec![0.0; 9 * cout];
            let ops = scatter_spikes(&synapses, &spikes, src, &fanout, &mut event);
            let mut dense = vec![0.0; 9 * cout];
            propagate_dense(
                &synapses,
                &spikes,
                src,
                out,
                &mut DenseScratch::default(),
                &mut dense,
            );
            for (i, (e, d)) in event.iter().zip(&dense).enumerate() {
                assert!((e - d).abs() < 1e-4, "cout {cout}, current {i}: {e} vs {d}");
            }
            assert_eq!(ops, count_synops(&synapses, &spikes, src, &fanout));
        }
    }
}
