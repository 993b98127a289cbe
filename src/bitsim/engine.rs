//! One worker's integer simulator (docs/fixed-point.md §4): per step, layers
//! in order; a layer's current starts at its bias, every spike of its
//! sources adds its (aligned) weights, then each neuron does the IF step of
//! `quant::arith`. Integer addition is exact and the accumulator is wide
//! enough by construction, so the order of the adds cannot matter.

use ndarray::ArrayView3;

use crate::ir::Pad;
use crate::quant::arith::{self, Word};
use crate::quant::{QLayerKind, QNeurons, QSynapses, QuantModel};
use crate::reference::argmax;
use crate::snn::cutoff::{self, Lead, Watch};
use crate::snn::dense::Dims;
use crate::snn::engine::{Engine, ImageRun};
use crate::snn::fanout::{gate, scatter_conv, scatter_dense, FanOut, Value};
use crate::snn::{Potentials, Source, SpikeTrace};

/// A synapse group with its weights aligned to the membrane's unit.
enum Routes<W> {
    Conv {
        kernel: Vec<W>,
        cin: usize,
        cout: usize,
        fanout: FanOut,
    },
    Dense {
        kernel: Vec<W>,
        units: usize,
    },
    /// `weights[o * C + c]`: the weight into output pixel `o`, channel `c`
    /// (the table entry of that pixel's window size, expanded once so the
    /// hot loop does one load).
    AvgPool {
        weights: Vec<W>,
        fanout: FanOut,
    },
    GlobalAvgPool {
        weights: Vec<W>,
    },
    Identity {
        weights: Vec<W>,
    },
}

struct Conn<W> {
    source: usize,
    src: Dims,
    routes: Routes<W>,
}

enum StepKind {
    /// Fire at `theta`, up to `burst` times a step.
    Fire {
        theta: i64,
        burst: u32,
    },
    Readout,
}

/// How an analog-input layer's constant current is computed.
struct Analog {
    /// Routing table of each connection.
    tables: Vec<FanOut>,
    /// Shift of a product `w_raw * x_raw` to the membrane unit.
    shift: u32,
    /// A single convolution whose sums fit 31 bits: its kernel as `i32`, so
    /// the per-image products run in 32-bit lanes.
    conv32: Option<Vec<i32>>,
}

enum Plan<W> {
    Neurons {
        conns: Vec<Conn<W>>,
        /// For a layer fed by the analog input (its current is computed
        /// once per image from the raw weights).
        analog: Option<Analog>,
        bias_map: Vec<W>,
        step: StepKind,
        membrane_bits: u32,
        /// Currents fit in 31 bits (the 32-bit vector step applies).
        narrow: bool,
        /// No overflow possible for runs of at most `model.timesteps`.
        proven: bool,
        /// Per output channel, or one for every neuron.
        v0: Vec<W>,
        out: Dims,
    },
    Gate {
        source: usize,
        size: (usize, usize),
        strides: (usize, usize),
        pad: Pad,
        src: Dims,
        out: Dims,
    },
}

/// Per-thread integer simulation state, reused across images.
pub struct BitSimulator<'m, W> {
    model: &'m QuantModel,
    plans: Vec<Plan<W>>,
    v: Vec<Vec<W>>,
    current: Vec<Vec<W>>,
    spikes: Vec<Vec<u32>>,
    counts: Vec<Vec<u32>>,
    input: Vec<i64>,
    scratch: Vec<u32>,
    /// The analog layer's products, before the shift (reused per image).
    analog_acc: Vec<i64>,
    analog_acc32: Vec<i32>,
}

fn align_all<W: Word>(raw: impl Iterator<Item = i64>, shift: u32) -> Vec<W> {
    raw.map(|w| W::from_raw(arith::align(w, 0, shift) as i64))
        .collect()
}

impl<'m, W: Word + Value> BitSimulator<'m, W> {
    pub fn new(model: &'m QuantModel) -> BitSimulator<'m, W> {
        let dims: Vec<Dims> = model.layers.iter().map(|l| Dims::of(l.shape)).collect();
        let input_dims = Dims::of(model.input_shape);
        let plans = model
            .layers
            .iter()
            .enumerate()
            .map(|(li, l)| match &l.kind {
                QLayerKind::MaxGate {
                    source,
                    size,
                    strides,
                    pad,
                } => Plan::Gate {
                    source: *source,
                    size: *size,
                    strides: *strides,
                    pad: *pad,
                    src: dims[*source],
                    out: dims[li],
                },
                QLayerKind::Neurons(n) => {
                    let m = n.formats.membrane.frac();
                    let analog = n.inputs.iter().any(|c| c.source == Source::Input);
                    let analog = analog.then(|| {
                        let term = n.formats.weights.frac() + model.input.format.frac();
                        let tables = n
                            .inputs
                            .iter()
                            .map(|c| c.synapses.fanout(input_dims, dims[li]))
                            .collect();
                        // The unshifted sum is no larger than the shifted
                        // one, which fits the accumulator (docs §4.4).
                        let conv32 = match n.inputs.as_slice() {
                            [c] if n.accumulator_bits <= 31 => match &c.synapses {
                                QSynapses::Conv { kernel, .. } => {
                                    Some(kernel.iter().map(|&w| w as i32).collect())
                                }
                                _ => None,
                            },
                            _ => None,
                        };
                        Analog {
                            tables,
                            shift: m - term,
                            conv32,
                        }
                    });
                    let shift = m - n.formats.weights.frac();
                    let conns = n
                        .inputs
                        .iter()
                        .map(|c| {
                            let (source, src) = match c.source {
                                Source::Input => (usize::MAX, input_dims),
                                Source::Layer(s) => (s, dims[s]),
                            };
                            Conn {
                                source,
                                src,
                                routes: routes(&c.synapses, src, dims[li], shift),
                            }
                        })
                        .collect();
                    let c = dims[li].c;
                    let bias_shift = m - n.formats.bias.frac();
                    let bias_map = match &n.bias {
                        Some(b) => (0..l.shape.len())
                            .map(|i| W::from_raw(arith::align(b.at(i, c), 0, bias_shift) as i64))
                            .collect(),
                        None => vec![W::default(); l.shape.len()],
                    };
                    let step = match n.neurons {
                        QNeurons::IntegrateAndFire { threshold }
                        | QNeurons::SpikeCountReadout { threshold } => StepKind::Fire {
                            theta: arith::align(threshold, n.formats.threshold.frac(), m) as i64,
                            burst: n.burst,
                        },
                        QNeurons::Readout => StepKind::Readout,
                    };
                    Plan::Neurons {
                        conns,
                        analog,
                        bias_map,
                        step,
                        membrane_bits: n.formats.membrane.bits(),
                        narrow: n.accumulator_bits <= 31,
                        proven: n.membrane_proven,
                        v0: n.v0.iter().map(|&v| W::from_raw(v)).collect(),
                        out: dims[li],
                    }
                }
            })
            .collect();
        let sizes: Vec<usize> = model.layers.iter().map(|l| l.shape.len()).collect();
        BitSimulator {
            model,
            plans,
            v: sizes.iter().map(|&n| vec![W::default(); n]).collect(),
            current: sizes.iter().map(|&n| vec![W::default(); n]).collect(),
            spikes: sizes.iter().map(|&n| Vec::with_capacity(n)).collect(),
            counts: sizes.iter().map(|&n| vec![0; n]).collect(),
            input: Vec::new(),
            scratch: vec![0; sizes.iter().copied().max().unwrap_or(0) + 4],
            analog_acc: Vec::new(),
            analog_acc32: Vec::new(),
        }
    }

    /// The analog layer's constant current: `bias + (sum of w * x) << shift`,
    /// exact in 128 bits (docs/fixed-point.md §4.4). Returns the MACs done.
    fn analog_current(&mut self, li: usize) -> u64 {
        let QLayerKind::Neurons(n) = &self.model.layers[li].kind else {
            unreachable!("a gate has no analog input")
        };
        let Plan::Neurons {
            bias_map,
            out,
            analog: Some(analog),
            ..
        } = &self.plans[li]
        else {
            unreachable!("called for analog layers only")
        };
        let shift = analog.shift;
        let src = Dims::of(self.model.input_shape);
        let len = out.h * out.w * out.c;
        let mut macs = 0u64;
        if let Some(kernel) = &analog.conv32 {
            let acc = &mut self.analog_acc32;
            acc.clear();
            acc.resize(len, 0);
            macs += conv_terms_i32(kernel, out.c, &analog.tables[0], &self.input, src.c, acc);
            for ((c, &b), &a) in self.current[li].iter_mut().zip(bias_map).zip(acc.iter()) {
                *c = W::from_raw(b.raw() + (i64::from(a) << shift));
            }
        } else if n.accumulator_bits <= 63 {
            // The sum without the shift is no larger than with it, and that
            // fits the accumulator: in 64 bits unless it is 64 wide.
            let acc = &mut self.analog_acc;
            acc.clear();
            acc.resize(len, 0);
            for (conn, table) in n.inputs.iter().zip(&analog.tables) {
                macs += analog_terms(&conn.synapses, table, &self.input, src, acc);
            }
            for ((c, &b), &a) in self.current[li].iter_mut().zip(bias_map).zip(acc.iter()) {
                *c = W::from_raw(b.raw() + (a << shift));
            }
        } else {
            let mut acc = vec![0i128; len];
            for (conn, table) in n.inputs.iter().zip(&analog.tables) {
                macs += analog_terms(&conn.synapses, table, &self.input, src, &mut acc);
            }
            for ((c, &b), a) in self.current[li].iter_mut().zip(bias_map).zip(acc) {
                *c = W::from_raw((i128::from(b.raw()) + (a << shift)) as i64);
            }
        }
        macs
    }
}

/// `analog_terms` of one convolution in 32-bit lanes: valid when every
/// partial sum fits 31 bits (the accumulator's proven width).
fn conv_terms_i32(
    kernel: &[i32],
    cout: usize,
    fanout: &FanOut,
    x: &[i64],
    cin: usize,
    acc: &mut [i32],
) -> u64 {
    let mut macs = 0u64;
    for (idx, &v) in x.iter().enumerate().filter(|(_, &v)| v != 0) {
        let (px, ci) = (idx / cin, idx % cin);
        let v = v as i32;
        let taps = fanout.of(px);
        for &(k_off, o_px) in taps {
            let row = &kernel[k_off as usize + ci * cout..][..cout];
            let dst = &mut acc[o_px as usize * cout..][..cout];
            for (a, &w) in dst.iter_mut().zip(row) {
                *a += w * v;
            }
        }
        macs += (taps.len() * cout) as u64;
    }
    macs
}

/// Every (target, weight) term of analog activity, accumulated exactly;
/// returns the multiplications done (the general case of `conv_terms_i32`).
fn analog_terms<A>(
    synapses: &QSynapses,
    fanout: &FanOut,
    x: &[i64],
    src: Dims,
    acc: &mut [A],
) -> u64
where
    A: Copy + From<i64> + std::ops::AddAssign + std::ops::Mul<Output = A>,
{
    let mut macs = 0u64;
    let mut term = |o: usize, w: i64, x: i64| {
        acc[o] += A::from(w) * A::from(x);
        macs += 1;
    };
    match synapses {
        QSynapses::Conv { kernel, .. } => {
            let (_, _, cin, cout) = kernel.dim();
            let k = kernel
                .as_slice()
                .expect("kernels are kept in standard layout");
            for (idx, &v) in x.iter().enumerate().filter(|(_, &v)| v != 0) {
                let (px, ci) = (idx / cin, idx % cin);
                for &(k_off, o_px) in fanout.of(px) {
                    for co in 0..cout {
                        term(
                            o_px as usize * cout + co,
                            k[k_off as usize + ci * cout + co],
                            v,
                        );
                    }
                }
            }
        }
        QSynapses::Dense { kernel } => {
            for (idx, &v) in x.iter().enumerate().filter(|(_, &v)| v != 0) {
                for (u, &w) in kernel.row(idx).iter().enumerate() {
                    term(u, w, v);
                }
            }
        }
        QSynapses::AvgPool { weights, .. } => {
            for (idx, &v) in x.iter().enumerate().filter(|(_, &v)| v != 0) {
                let (px, c) = (idx / src.c, idx % src.c);
                for &(_, o_px) in fanout.of(px) {
                    let n = fanout.window_sizes[o_px as usize] as usize;
                    term(o_px as usize * src.c + c, weights[[n - 1, c]], v);
                }
            }
        }
        QSynapses::GlobalAvgPool { weights } => {
            for (idx, &v) in x.iter().enumerate() {
                term(idx % src.c, weights[idx % src.c], v);
            }
        }
        QSynapses::Identity { weights } => {
            for (idx, &v) in x.iter().enumerate() {
                term(idx, weights[idx % src.c], v);
            }
        }
    }
    macs
}

/// Routing tables and aligned weights of one spiking synapse group.
fn routes<W: Word>(synapses: &QSynapses, src: Dims, out: Dims, shift: u32) -> Routes<W> {
    match synapses {
        QSynapses::Conv { kernel, .. } => {
            let (_, _, cin, cout) = kernel.dim();
            Routes::Conv {
                kernel: align_all(kernel.iter().copied(), shift),
                cin,
                cout,
                fanout: synapses.fanout(src, out),
            }
        }
        QSynapses::Dense { kernel } => Routes::Dense {
            kernel: align_all(kernel.iter().copied(), shift),
            units: kernel.dim().1,
        },
        QSynapses::AvgPool { weights, .. } => {
            let fanout = synapses.fanout(src, out);
            let c = weights.dim().1;
            let per_pixel = fanout
                .window_sizes
                .iter()
                .flat_map(|&n| (0..c).map(move |ch| (n as usize, ch)))
                .map(|(n, ch)| if n == 0 { 0 } else { weights[[n - 1, ch]] });
            Routes::AvgPool {
                weights: align_all(per_pixel, shift),
                fanout,
            }
        }
        QSynapses::GlobalAvgPool { weights } => Routes::GlobalAvgPool {
            weights: align_all(weights.iter().copied(), shift),
        },
        QSynapses::Identity { weights } => Routes::Identity {
            weights: align_all(weights.iter().copied(), shift),
        },
    }
}

/// Add the weights of every spike to `current`; returns the synaptic
/// operations (one per target reached, as the float simulator counts).
fn scatter<W: Word + Value>(
    routes: &Routes<W>,
    spikes: &[u32],
    src: Dims,
    current: &mut [W],
) -> u64 {
    match routes {
        Routes::Conv {
            kernel,
            cin,
            cout,
            fanout,
        } => scatter_conv(kernel, *cin, *cout, spikes, fanout, current),
        Routes::Dense { kernel, units } => scatter_dense(kernel, *units, spikes, current),
        Routes::AvgPool { weights, fanout } => {
            let mut ops = 0u64;
            for &idx in spikes {
                let (px, c) = (idx as usize / src.c, idx as usize % src.c);
                let taps = fanout.of(px);
                for &(_, o_px) in taps {
                    let o = o_px as usize * src.c + c;
                    current[o] += weights[o];
                }
                ops += taps.len() as u64;
            }
            ops
        }
        Routes::GlobalAvgPool { weights } => {
            for &idx in spikes {
                let c = idx as usize % src.c;
                current[c] += weights[c];
            }
            spikes.len() as u64
        }
        Routes::Identity { weights } => {
            for &idx in spikes {
                current[idx as usize] += weights[idx as usize % src.c];
            }
            spikes.len() as u64
        }
    }
}

impl<W: Word + Value> BitSimulator<'_, W> {
    /// The read-out's lead now, in raw units: the readout's membrane
    /// values, or a spike-count readout's counts (docs/fixed-point.md §4.6).
    fn lead(&self) -> Option<Lead<i64>> {
        let last = self.plans.len() - 1;
        match &self.plans[last] {
            Plan::Neurons {
                step: StepKind::Readout,
                ..
            } => cutoff::lead(&self.v[last], |a: W, b: W| a.raw().saturating_sub(b.raw())),
            _ => cutoff::lead(&self.counts[last], |a: u32, b: u32| {
                i64::from(a) - i64::from(b)
            }),
        }
    }

    /// Simulate one image to the largest of the sorted `timesteps`,
    /// reading out at each, or until `watch` stops it (§4.6); with a trace,
    /// record every step run.
    fn run_inner(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: &[usize],
        mut watch: Watch<'_, i64>,
        mut trace: Option<&mut SpikeTrace>,
    ) -> ImageRun {
        let model = self.model;
        let (rounding, overflow) = (model.rounding, model.overflow);
        self.input.clear();
        self.input.extend(
            image
                .iter()
                .map(|&x| model.input.raw(x, rounding, overflow).0),
        );
        let n_layers = model.layers.len();
        let mut out = ImageRun {
            layer_spikes: vec![0; n_layers],
            layer_synops: vec![0; n_layers],
            layer_overflows: vec![0; n_layers],
            ..Default::default()
        };
        for li in 0..n_layers {
            self.counts[li].fill(0);
            self.spikes[li].clear();
            if let Plan::Neurons {
                v0,
                analog,
                out: dims,
                ..
            } = &self.plans[li]
            {
                match v0.as_slice() {
                    [v0] => self.v[li].fill(*v0),
                    // Channels last: neuron i is channel i % c.
                    per_channel => {
                        for (i, v) in self.v[li].iter_mut().enumerate() {
                            *v = per_channel[i % dims.c];
                        }
                    }
                }
                if analog.is_some() {
                    out.input_macs += self.analog_current(li);
                }
            }
        }
        let t_max = timesteps.last().copied().unwrap_or(0);
        // Layers proven not to overflow skip the range check, but only for
        // runs as long as the proof covers.
        let within_proof = t_max <= model.timesteps;
        let (mut total_spikes, mut total_synops) = (0u64, 0u64);
        let mut next_checkpoint = 0;
        if let Some(trace) = trace.as_deref_mut() {
            for li in 0..self.v.len() {
                trace.push_int(li, self.v[li].iter().map(|x| x.raw()));
            }
        }
        for t in 1..=t_max {
            // Bursts begin after `burst_after` steps (one test a step).
            let bursting = crate::snn::burst::bursting(t, model.burst_after);
            for li in 0..n_layers {
                let (before, rest) = self.spikes.split_at_mut(li);
                let emitted = &mut rest[0];
                emitted.clear();
                match &self.plans[li] {
                    Plan::Gate {
                        source,
                        size,
                        strides,
                        pad,
                        src,
                        out: dims,
                    } => {
                        let (counts_before, counts_rest) = self.counts.split_at_mut(li);
                        gate(
                            &before[*source],
                            &counts_before[*source],
                            &mut counts_rest[0],
                            *src,
                            *dims,
                            *size,
                            *strides,
                            (pad.top, pad.left),
                            emitted,
                        );
                    }
                    Plan::Neurons {
                        conns,
                        analog,
                        bias_map,
                        step,
                        membrane_bits,
                        narrow,
                        proven,
                        ..
                    } => {
                        let current = &mut self.current[li];
                        if analog.is_none() {
                            current.copy_from_slice(bias_map);
                            let mut ops = 0;
                            for conn in conns {
                                ops +=
                                    scatter(&conn.routes, &before[conn.source], conn.src, current);
                            }
                            out.layer_synops[li] += ops;
                            total_synops += ops;
                        }
                        let v = &mut self.v[li];
                        out.layer_overflows[li] += match step {
                            StepKind::Fire { theta, burst } => {
                                let events = W::step_layer(
                                    v,
                                    current,
                                    *theta,
                                    *membrane_bits,
                                    overflow,
                                    *narrow,
                                    *proven && within_proof,
                                    &mut self.scratch,
                                    emitted,
                                );
                                if bursting && *burst > 1 {
                                    let theta = W::from_raw(*theta);
                                    crate::snn::burst::fire_again(v, theta, burst - 1, emitted);
                                }
                                events
                            }
                            StepKind::Readout => {
                                arith::readout_step_layer(v, current, *membrane_bits, overflow)
                            }
                        };
                        for &i in emitted.iter() {
                            self.counts[li][i as usize] += 1;
                        }
                    }
                }
                let n = self.spikes[li].len() as u64;
                out.layer_spikes[li] += n;
                total_spikes += n;
            }
            if let Some(trace) = trace.as_deref_mut() {
                trace.timesteps = t;
                for li in 0..self.v.len() {
                    trace.push_spikes(li, &self.spikes[li]);
                    trace.push_int(li, self.v[li].iter().map(|x| x.raw()));
                }
            }
            let stop = watch.active() && watch.step(self.lead());
            // A stopped image answers every longer T as it is now.
            while next_checkpoint < timesteps.len() && (timesteps[next_checkpoint] == t || stop) {
                let last = n_layers - 1;
                let class = match &self.plans[last] {
                    Plan::Neurons {
                        step: StepKind::Readout,
                        ..
                    } => argmax(&self.v[last]),
                    _ => argmax(&self.counts[last]),
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

impl<W: Word + Value> Engine for BitSimulator<'_, W> {
    fn counts(&self) -> &[Vec<u32>] {
        &self.counts
    }

    type Margin = i64;

    fn run_watched(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: &[usize],
        watch: Watch<'_, i64>,
    ) -> ImageRun {
        self.run_inner(image, timesteps, watch, None)
    }

    fn potentials(&self, layer: usize) -> Potentials {
        match &self.model.layers[layer].kind {
            QLayerKind::MaxGate { .. } => Potentials::None,
            QLayerKind::Neurons(n) => Potentials::Int {
                bits: n.formats.membrane.bits(),
                values: self.v[layer].iter().map(|x| x.raw()).collect(),
            },
        }
    }

    fn trace_cutoff(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: usize,
        cutoff: Option<i64>,
    ) -> SpikeTrace {
        let mut trace = SpikeTrace::new(self.model.layers.iter().map(|l| {
            (
                l.name.clone(),
                l.shape.len(),
                match &l.kind {
                    QLayerKind::MaxGate { .. } => Potentials::None,
                    QLayerKind::Neurons(n) => Potentials::Int {
                        bits: n.formats.membrane.bits(),
                        values: Vec::new(),
                    },
                },
            )
        }));
        self.run_inner(image, &[timesteps], Watch::stop(cutoff), Some(&mut trace));
        trace
    }
}
