//! The decided hardware design of a quantised network: every width, shift,
//! constant, routing table and memory image of every layer engine
//! (docs/hardware.md). The templates only print it.
//!
//! Neurons are stored in groups of `lanes` channels of one pixel (group
//! `q = px * G + g`, lane `l` = channel `g * lanes + l`); memory words hold a
//! whole group. Spikes travel as entries `{px, g, mask}`.

use crate::quant::arith::align;
use crate::quant::format::bits_for_range;
use crate::quant::{Overflow, QLayerKind, QNeurons, QSynapses, QuantModel};
use crate::snn::dense::Dims;
use crate::snn::fanout::FanOut;
use crate::snn::Source;

/// Why a network cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    /// Every layer the hardware cannot build, each with the reason.
    #[error("{}", list(.0))]
    Unsupported(Vec<Problem>),
    #[error("--lanes {0}: the lane count must be a power of two from 1 to 64")]
    Lanes(usize),
}

/// One layer the hardware cannot build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub layer: String,
    pub reason: String,
}

fn list(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("layer {}: {}", p.layer, p.reason))
        .collect();
    lines.join("; ")
}

/// Cycles an engine spends on a time step besides its group sweep and its
/// spikes: the start, the end of the source list, the drain, the finish
/// and the sequencer's handshake (hw/snn_layer.v, templates/top.v).
pub const STEP_OVERHEAD: usize = 6;

/// Address bits for `n` distinct values (at least 1).
pub fn addr_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// How a layer's neurons are laid out in groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub px: usize,
    pub c: usize,
    /// Groups per pixel: `ceil(c / lanes)`.
    pub g: usize,
    pub px_bits: u32,
    pub g_bits: u32,
    /// Bits of a group address `px * g + g`.
    pub q_bits: u32,
    pub lanes: usize,
}

impl Geometry {
    fn new(dims: Dims, lanes: usize) -> Geometry {
        let px = dims.h * dims.w;
        let g = dims.c.div_ceil(lanes);
        Geometry {
            px,
            c: dims.c,
            g,
            px_bits: addr_bits(px),
            g_bits: addr_bits(g),
            q_bits: addr_bits(px * g),
            lanes,
        }
    }

    pub fn groups(&self) -> usize {
        self.px * self.g
    }

    /// Bits of a spike entry `{px, g, mask}`.
    pub fn entry_bits(&self) -> u32 {
        self.px_bits + self.g_bits + self.lanes as u32
    }

    /// The neurons of a spike entry `{px, g, mask}` of this layout.
    pub fn neurons_of(&self, entry: u128) -> Vec<u32> {
        let lanes = self.lanes as u32;
        let mask = entry & ((1u128 << lanes) - 1);
        let g = (entry >> lanes) & ((1u128 << self.g_bits) - 1);
        let px = entry >> (lanes + self.g_bits);
        (0..lanes)
            .filter(|l| mask >> l & 1 == 1)
            .map(|l| (px as usize * self.c + g as usize * self.lanes + l as usize) as u32)
            .collect()
    }

    /// Which lanes of the last group are channels (the rest is padding).
    pub fn last_mask(&self) -> u64 {
        let used = self.c - (self.g - 1) * self.lanes;
        if used == 64 {
            u64::MAX
        } else {
            (1u64 << used) - 1
        }
    }
}

/// A synapse group's routing tables: per source pixel its taps `(kk,
/// out_px)` (`kk` indexes the weights: kernel position, source pixel of a
/// dense layer, window size of a pool).
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// `(start, count)` into `taps`, per source pixel.
    pub offsets: Vec<(usize, usize)>,
    pub taps: Vec<(usize, usize)>,
    /// Number of distinct `kk` values.
    pub kk_count: usize,
}

impl Routing {
    fn from_fanout(fanout: &FanOut, src_px: usize, kk: impl Fn(u32, u32) -> usize) -> Routing {
        let mut r = Routing::default();
        for px in 0..src_px {
            let taps = fanout.of(px);
            r.offsets.push((r.taps.len(), taps.len()));
            r.taps.extend(
                taps.iter()
                    .map(|&(k_off, o_px)| (kk(k_off, o_px), o_px as usize)),
            );
        }
        r.kk_count = r.taps.iter().map(|t| t.0 + 1).max().unwrap_or(1);
        r
    }

    /// One tap per source pixel, computed by `tap`.
    fn per_pixel(src_px: usize, kk_count: usize, tap: impl Fn(usize) -> (usize, usize)) -> Routing {
        Routing {
            offsets: (0..src_px).map(|p| (p, 1)).collect(),
            taps: (0..src_px).map(tap).collect(),
            kk_count,
        }
    }

    pub fn n_taps(&self) -> usize {
        self.taps.len().max(1)
    }
    /// Bits of a tap index, which counts to `n_taps` inclusive.
    pub fn tap_bits(&self) -> u32 {
        addr_bits(self.taps.len() + 1)
    }
    pub fn tap_count_bits(&self) -> u32 {
        let most = self.offsets.iter().map(|o| o.1).max().unwrap_or(0);
        addr_bits(most + 1)
    }
    pub fn kk_bits(&self) -> u32 {
        addr_bits(self.kk_count)
    }
}

/// The datapath of a layer of neurons (`hw/snn_layer.v`).
#[derive(Debug, Clone)]
pub struct NeuronEngine {
    /// Pooling-style synapses: output channel = source channel.
    pub depthwise: bool,
    pub analog: bool,
    pub fires: bool,
    pub w_bits: u32,
    pub w_shift: u32,
    pub b_bits: u32,
    pub b_shift: u32,
    pub acc_bits: u32,
    pub membrane_bits: u32,
    pub theta_bits: u32,
    /// Aligned threshold (membrane units); 1 for the readout (unused).
    pub theta: i64,
    pub v0: i64,
    /// Shift of a product `w * x` (analog layer only).
    pub p_shift: u32,
    /// Weight words, `lanes` raw weights each (docs/hardware.md, Memories).
    pub weights: Vec<Vec<i64>>,
    /// Bias words per group, `lanes` raw biases each.
    pub bias: Vec<Vec<i64>>,
}

impl NeuronEngine {
    /// Address bits of the weight memory.
    pub fn wa_bits(&self) -> u32 {
        addr_bits(self.weights.len())
    }
}

/// What an engine computes.
#[derive(Debug, Clone)]
pub enum EngineKind {
    Neurons(NeuronEngine),
    /// A spiking max-pooling gate (`hw/snn_max_gate.v`).
    MaxGate,
}

/// One layer engine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub name: String,
    pub out: Geometry,
    /// The source's layout (the input's for an analog layer).
    pub src: Geometry,
    pub routing: Routing,
    /// This engine keeps spike counts (read by a max gate or the readout).
    pub counts: bool,
    /// Entries this engine's spike list can hold in one step.
    pub list_depth: usize,
    pub kind: EngineKind,
}

impl Engine {
    pub fn neurons(&self) -> Option<&NeuronEngine> {
        match &self.kind {
            EngineKind::Neurons(n) => Some(n),
            EngineKind::MaxGate => None,
        }
    }
    pub fn is_gate(&self) -> bool {
        matches!(self.kind, EngineKind::MaxGate)
    }
    pub fn is_analog(&self) -> bool {
        self.neurons().is_some_and(|n| n.analog)
    }
    pub fn membrane_bits(&self) -> u32 {
        self.neurons().map_or(1, |n| n.membrane_bits)
    }
    /// Bits of the source field the engine walks: the entry's group, or
    /// the input element's channel for an analog layer.
    pub fn src_field_bits(&self) -> u32 {
        if self.is_analog() {
            addr_bits(self.src.c)
        } else {
            self.src.g_bits
        }
    }
    /// Bits of the source entries the engine reads (`{px, field, mask}`).
    pub fn src_entry_bits(&self) -> u32 {
        self.src.px_bits + self.src_field_bits() + self.src.lanes as u32
    }
    /// Bits of this engine's spike list count (0..=list_depth).
    pub fn list_bits(&self) -> u32 {
        addr_bits(self.list_depth + 1)
    }
}

/// What the design reads out after the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readout {
    /// The last layer's membrane potentials.
    Potential,
    /// The last layer's spike counts.
    SpikeCount,
}

/// A whole design: engines in order, the last one the readout.
#[derive(Debug, Clone)]
pub struct Design {
    pub name: String,
    pub timesteps: usize,
    pub lanes: usize,
    pub saturate: bool,
    pub input_len: usize,
    pub input_bits: u32,
    pub input_addr_bits: u32,
    /// Bits of the analog layer's input index, which counts to `input_len`.
    pub input_index_bits: u32,
    /// Bits of a spike count (0..=timesteps).
    pub count_bits: u32,
    pub readout: Readout,
    pub engines: Vec<Engine>,
}

impl Design {
    pub fn last(&self) -> &Engine {
        self.engines.last().expect("a design has a readout")
    }
    /// Bits of a memory word of `bits`-wide lanes.
    pub fn word(&self, bits: impl std::borrow::Borrow<u32>) -> u32 {
        self.lanes as u32 * bits.borrow()
    }
    /// Bits of one read-out value (a potential or a spike count).
    pub fn out_value_bits(&self) -> u32 {
        match (self.readout, self.last().neurons()) {
            (Readout::Potential, Some(n)) => n.membrane_bits,
            _ => self.count_bits,
        }
    }
    /// Neurons read out.
    pub fn out_len(&self) -> usize {
        self.last().out.px * self.last().out.c
    }
}

/// Raw weights of a full (conv/dense) synapse group as words: word
/// `(kk * src_c + ci) * G + gq`, lane `l` = output channel `gq * lanes + l`.
fn full_words(
    kk_count: usize,
    src_c: usize,
    out: Geometry,
    lanes: usize,
    weight: impl Fn(usize, usize, usize) -> i64,
) -> Vec<Vec<i64>> {
    let mut words = Vec::with_capacity(kk_count * src_c * out.g);
    for kk in 0..kk_count {
        for ci in 0..src_c {
            for gq in 0..out.g {
                words.push(
                    (0..lanes)
                        .map(|l| gq * lanes + l)
                        .map(|co| if co < out.c { weight(kk, ci, co) } else { 0 })
                        .collect(),
                );
            }
        }
    }
    words
}

/// Per-channel values as group words (`kk_count` tables of `c` values).
fn depthwise_words(
    kk_count: usize,
    out: Geometry,
    lanes: usize,
    value: impl Fn(usize, usize) -> i64,
) -> Vec<Vec<i64>> {
    (0..kk_count)
        .flat_map(|kk| (0..out.g).map(move |g| (kk, g)))
        .map(|(kk, g)| {
            (0..lanes)
                .map(|l| g * lanes + l)
                .map(|c| if c < out.c { value(kk, c) } else { 0 })
                .collect()
        })
        .collect()
}

/// Refuse a lane count the engines cannot use (a power of two, so a
/// channel's lane and group are bit fields; at most 64).
pub fn check_lanes(lanes: usize) -> Result<(), DesignError> {
    if lanes.is_power_of_two() && lanes <= 64 {
        Ok(())
    } else {
        Err(DesignError::Lanes(lanes))
    }
}

/// Decide the design of `model` for `timesteps` steps with `lanes`
/// parallel neuron lanes.
pub fn design(model: &QuantModel, timesteps: usize, lanes: usize) -> Result<Design, DesignError> {
    check_lanes(lanes)?;
    let input_dims = Dims::of(model.input_shape);
    let dims: Vec<Dims> = model.layers.iter().map(|l| Dims::of(l.shape)).collect();
    let n_layers = model.layers.len();
    // Layers whose spike counts are read: a max gate's source, the
    // spike-count readout.
    let mut counted = vec![false; n_layers];
    for (li, layer) in model.layers.iter().enumerate() {
        match &layer.kind {
            QLayerKind::MaxGate { source, .. } => counted[*source] = true,
            QLayerKind::Neurons(n) => {
                if matches!(n.neurons, QNeurons::SpikeCountReadout { .. }) {
                    counted[li] = true;
                }
            }
        }
    }
    // Every problem at once, not the first.
    let mut problems = Vec::new();
    let mut engines = Vec::with_capacity(n_layers);
    for (li, layer) in model.layers.iter().enumerate() {
        let out = Geometry::new(dims[li], lanes);
        let last = li + 1 == n_layers;
        let mut refuse = |reason: String| {
            problems.push(Problem {
                layer: layer.name.clone(),
                reason,
            })
        };
        let chained = |source: usize| source + 1 == li;
        match &layer.kind {
            QLayerKind::MaxGate {
                source,
                size,
                strides,
                pad,
            } => {
                if !chained(*source) {
                    refuse(
                        "the hardware chains layers: a max gate must read the layer just before it"
                            .into(),
                    );
                    continue;
                }
                if matches!(model.layers[*source].kind, QLayerKind::MaxGate { .. }) {
                    refuse("a max gate fed by another max gate is not supported".into());
                    continue;
                }
                if last {
                    refuse("the last layer must be a readout, not a max gate".into());
                    continue;
                }
                let src = Geometry::new(dims[*source], lanes);
                let fanout =
                    FanOut::windows(*size, *strides, *pad, 0, dims[*source], dims[li], false);
                engines.push(Engine {
                    name: layer.name.clone(),
                    out,
                    src,
                    routing: Routing::from_fanout(&fanout, src.px, |_, _| 0),
                    counts: counted[li],
                    list_depth: out.groups() * lanes,
                    kind: EngineKind::MaxGate,
                });
            }
            QLayerKind::Neurons(n) => {
                let [conn] = n.inputs.as_slice() else {
                    refuse(format!(
                        "{} synapse groups (a residual add): the hardware engines take one",
                        n.inputs.len()
                    ));
                    continue;
                };
                let analog = conn.source == Source::Input;
                let src_dims = match conn.source {
                    Source::Input => input_dims,
                    Source::Layer(s) if chained(s) => dims[s],
                    Source::Layer(_) => {
                        refuse("the hardware chains layers: this one reads a layer other than the one before it".into());
                        continue;
                    }
                };
                let src = Geometry::new(src_dims, lanes);
                let (fires, theta_raw) = match n.neurons {
                    QNeurons::IntegrateAndFire { threshold } => (true, threshold),
                    QNeurons::SpikeCountReadout { threshold } => (true, threshold),
                    QNeurons::Readout => (false, 1),
                };
                let is_readout = !matches!(n.neurons, QNeurons::IntegrateAndFire { .. });
                if is_readout != last {
                    refuse("the last layer must be the readout, and only it".into());
                    continue;
                }
                let routed = route(&conn.synapses, src_dims, dims[li], lanes, out);
                let (routing, depthwise, weights) = match routed {
                    Ok(r) => r,
                    Err(reason) => {
                        refuse(reason);
                        continue;
                    }
                };
                if analog && depthwise {
                    refuse("pooling the analog input directly is not supported in hardware (start with a convolution or dense layer)".into());
                    continue;
                }
                let f = n.formats;
                let m = f.membrane.frac();
                let theta = align(theta_raw, f.threshold.frac(), m);
                let w_shift = if analog { 0 } else { m - f.weights.frac() };
                let p_shift = if analog {
                    m - f.weights.frac() - model.input.format.frac()
                } else {
                    0
                };
                let b_shift = m - f.bias.frac();
                let bias = n.bias.clone().unwrap_or_else(|| vec![0; out.c]);
                // A wider accumulator changes nothing (sums are exact); the
                // engine needs room for the aligned weight and bias words.
                let acc_bits = n
                    .accumulator_bits
                    .max(f.weights.bits() + w_shift)
                    .max(f.bias.bits() + b_shift);
                engines.push(Engine {
                    name: layer.name.clone(),
                    out,
                    src,
                    routing,
                    counts: counted[li],
                    list_depth: out.groups(),
                    kind: EngineKind::Neurons(NeuronEngine {
                        depthwise,
                        analog,
                        fires,
                        w_bits: f.weights.bits(),
                        w_shift,
                        b_bits: f.bias.bits(),
                        b_shift,
                        acc_bits,
                        membrane_bits: f.membrane.bits(),
                        theta_bits: bits_for_range(0, theta).unwrap_or(64),
                        theta: theta as i64,
                        v0: n.v0,
                        p_shift,
                        weights,
                        bias: depthwise_words(1, out, lanes, |_, c| bias[c]),
                    }),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(DesignError::Unsupported(problems));
    }
    let readout = match &model.layers.last().map(|l| &l.kind) {
        Some(QLayerKind::Neurons(n)) if matches!(n.neurons, QNeurons::Readout) => {
            Readout::Potential
        }
        _ => Readout::SpikeCount,
    };
    Ok(Design {
        name: model.name.clone(),
        timesteps,
        lanes,
        saturate: model.overflow == Overflow::Saturate,
        input_len: model.input_shape.len(),
        input_bits: model.input.format.bits(),
        input_addr_bits: addr_bits(model.input_shape.len()),
        input_index_bits: addr_bits(model.input_shape.len() + 1),
        count_bits: addr_bits(timesteps + 1),
        readout,
        engines,
    })
}

/// Routing tables and weight words of one synapse group: `(routing,
/// depthwise, weights)`, or why the hardware cannot do it.
fn route(
    synapses: &QSynapses,
    src: Dims,
    out_dims: Dims,
    lanes: usize,
    out: Geometry,
) -> Result<(Routing, bool, Vec<Vec<i64>>), String> {
    let src_px = src.h * src.w;
    Ok(match synapses {
        QSynapses::Conv { kernel, .. } => {
            let (kh, kw, cin, cout) = kernel.dim();
            let fanout = synapses.fanout(src, out_dims);
            let mut routing = Routing::from_fanout(&fanout, src_px, |k_off, _| {
                k_off as usize / (cin * cout).max(1)
            });
            routing.kk_count = kh * kw;
            let words = full_words(kh * kw, cin, out, lanes, |kk, ci, co| {
                kernel[[kk / kw, kk % kw, ci, co]]
            });
            (routing, false, words)
        }
        QSynapses::Dense { kernel } => {
            // A dense layer is a convolution whose kernel covers the whole
            // source: kk = source pixel, one output pixel.
            let routing = Routing::per_pixel(src_px, src_px, |p| (p, 0));
            let words = full_words(src_px, src.c, out, lanes, |kk, ci, co| {
                kernel[[kk * src.c + ci, co]]
            });
            (routing, false, words)
        }
        QSynapses::AvgPool { weights, .. } => {
            let fanout = synapses.fanout(src, out_dims);
            let sizes = &fanout.window_sizes;
            let mut routing = Routing::from_fanout(&fanout, src_px, |_, o_px| {
                (sizes[o_px as usize] as usize).saturating_sub(1)
            });
            routing.kk_count = weights.dim().0;
            let words = depthwise_words(weights.dim().0, out, lanes, |kk, c| weights[[kk, c]]);
            (routing, true, words)
        }
        QSynapses::GlobalAvgPool { weights } => (
            Routing::per_pixel(src_px, 1, |_| (0, 0)),
            true,
            depthwise_words(1, out, lanes, |_, c| weights[c]),
        ),
        QSynapses::Identity { weights } => (
            Routing::per_pixel(src_px, 1, |p| (0, p)),
            true,
            depthwise_words(1, out, lanes, |_, c| weights[c]),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::addr_bits;

    #[test]
    fn address_bits() {
        assert_eq!(
            [
                addr_bits(1),
                addr_bits(2),
                addr_bits(3),
                addr_bits(4),
                addr_bits(5)
            ],
            [1, 1, 2, 2, 3]
        );
        assert_eq!(addr_bits(784), 10);
        assert_eq!(addr_bits(1024), 10);
    }
}
