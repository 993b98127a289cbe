//! The quantised network: every value the datapath touches is an integer in
//! a stated format. `bitsim` and the Verilog backend read only this.

use ndarray::{Array2, Array4};

use super::format::{Overflow, QFormat, Rounding};
use crate::ir::{Pad, Shape};
use crate::snn::dense::Dims;
use crate::snn::fanout::FanOut;
use crate::snn::{Bias, Source};

/// Integer synapses; weights are raw values of the layer's weight format.
#[derive(Debug, Clone, PartialEq)]
pub enum QSynapses {
    Conv {
        kernel: Array4<i64>,
        strides: (usize, usize),
        pad: Pad,
    },
    Dense {
        kernel: Array2<i64>,
    },
    /// `weights[n - 1][c]` is the weight of channel `c` in a window with `n`
    /// in-bounds inputs (`scale[c] / n`, quantised once per `n`).
    AvgPool {
        size: (usize, usize),
        strides: (usize, usize),
        pad: Pad,
        weights: Array2<i64>,
    },
    GlobalAvgPool {
        weights: Vec<i64>,
    },
    Identity {
        weights: Vec<i64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct QConnection {
    pub source: Source,
    pub synapses: QSynapses,
}

/// Formats of one layer's datapath (docs/fixed-point.md §3). Every value is
/// aligned to the membrane's fractional bits by an exact left shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerFormats {
    pub weights: QFormat,
    pub bias: QFormat,
    pub threshold: QFormat,
    pub membrane: QFormat,
}

/// What the neurons of a layer do, with integer thresholds (raw, threshold
/// format).
#[derive(Debug, Clone, PartialEq)]
pub enum QNeurons {
    IntegrateAndFire { threshold: i64 },
    SpikeCountReadout { threshold: i64 },
    Readout,
}

/// A layer with a datapath: synapses, bias, membrane.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronLayer {
    pub neurons: QNeurons,
    pub inputs: Vec<QConnection>,
    /// Raw values of the bias format, per output channel or per neuron.
    pub bias: Option<Bias<i64>>,
    pub formats: LayerFormats,
    /// Real units x `scale` = fixed-point value (the free normalisation
    /// scale of §3): raw = round(x * scale * 2^frac).
    pub scale: f64,
    /// Width of the current accumulator, derived so it cannot overflow.
    pub accumulator_bits: u32,
    /// Whether the membrane format holds every value the model's
    /// `timesteps` steps can reach (docs/fixed-point.md §5): then no
    /// overflow can happen in runs of at most that many steps.
    pub membrane_proven: bool,
    /// Initial membrane potential, raw in the membrane format: one for
    /// every neuron, or one per output channel.
    pub v0: Vec<i64>,
    /// The most spikes a neuron emits in a step (`SnnLayer::burst`).
    pub burst: u32,
}

impl NeuronLayer {
    /// The initial potential of output channel `channel`.
    pub fn v0_at(&self, channel: usize) -> i64 {
        if self.v0.len() == 1 {
            self.v0[0]
        } else {
            self.v0[channel]
        }
    }
}

/// A layer of the quantised network.
#[derive(Debug, Clone, PartialEq)]
pub enum QLayerKind {
    Neurons(NeuronLayer),
    /// Spiking max pooling (no arithmetic beyond spike counts).
    MaxGate {
        source: usize,
        size: (usize, usize),
        strides: (usize, usize),
        pad: Pad,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantLayer {
    pub name: String,
    pub shape: Shape,
    pub kind: QLayerKind,
}

/// How the analog input becomes integers: raw = fit(round(x * scale * 2^frac)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputFormat {
    pub format: QFormat,
    pub scale: f64,
}

/// A quantised spiking network.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantModel {
    pub name: String,
    pub input_shape: Shape,
    pub input: InputFormat,
    pub layers: Vec<QuantLayer>,
    pub rounding: Rounding,
    pub overflow: Overflow,
    /// Simulation length up to which the membrane widths were proven wide
    /// enough (longer runs may overflow).
    pub timesteps: usize,
    pub cnn_macs: u64,
    /// Steps at one spike a step before bursts begin
    /// (`SnnModel::burst_after`).
    pub burst_after: u32,
}

impl QuantModel {
    /// The most spikes a neuron of layer `li` emits in a step: its own
    /// burst, or for a max gate its source's (through a chain of gates).
    pub fn burst(&self, li: usize) -> u32 {
        match &self.layers[li].kind {
            QLayerKind::Neurons(n) => n.burst,
            QLayerKind::MaxGate { source, .. } => self.burst(*source),
        }
    }

    /// The most spikes a neuron of layer `li` emits at step `t` (from 1):
    /// `burst(li)` after `burst_after` steps, else 1. At a run's last step
    /// it is the most of any step of the run.
    pub fn burst_at(&self, li: usize, t: usize) -> u32 {
        if crate::snn::burst::bursting(t, self.burst_after) {
            self.burst(li)
        } else {
            1
        }
    }

    /// Bits of all weight memories (what a hardware build stores).
    pub fn weight_memory_bits(&self) -> u64 {
        self.layers
            .iter()
            .filter_map(|l| match &l.kind {
                QLayerKind::Neurons(n) => Some(n),
                QLayerKind::MaxGate { .. } => None,
            })
            .map(|n| {
                let count: usize = n.inputs.iter().map(|c| c.synapses.weight_count()).sum();
                count as u64 * u64::from(n.formats.weights.bits())
            })
            .sum()
    }
}

impl QSynapses {
    /// The routing table of a window-shaped synapse group (empty for the
    /// others, which need none), shared by the simulator and the hardware.
    pub(crate) fn fanout(&self, src: Dims, out: Dims) -> FanOut {
        match self {
            QSynapses::Conv {
                kernel,
                strides,
                pad,
            } => {
                let (kh, kw, cin, cout) = kernel.dim();
                FanOut::windows((kh, kw), *strides, *pad, cin * cout, src, out, false)
            }
            QSynapses::AvgPool {
                size, strides, pad, ..
            } => FanOut::windows(*size, *strides, *pad, 0, src, out, true),
            _ => FanOut::default(),
        }
    }

    /// Number of stored weights.
    pub fn weight_count(&self) -> usize {
        match self {
            QSynapses::Conv { kernel, .. } => kernel.len(),
            QSynapses::Dense { kernel } => kernel.len(),
            QSynapses::AvgPool { weights, .. } => weights.len(),
            QSynapses::GlobalAvgPool { weights } | QSynapses::Identity { weights } => weights.len(),
        }
    }
}
