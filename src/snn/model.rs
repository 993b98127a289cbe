//! The converted spiking network: layers of integrate-and-fire neurons (or a
//! max gate, or the readout) fed by synapse groups from earlier layers.
//!
//! Everything here is already normalised (ECC technique 2): thresholds are
//! `theta`, weights and biases are in units of the layer's threshold, and the
//! input layer's analog current is in units of the first layer's threshold.

use ndarray::{Array2, Array4};

use crate::ir::{Pad, Shape};

/// The most spikes a neuron may emit in one step (`SnnLayer::burst`).
pub const MAX_BURST: u32 = 16;

/// Where a synapse group takes its presynaptic activity from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The analog input image (constant current every step).
    Input,
    /// The spikes of an earlier layer, by index.
    Layer(usize),
}

/// The connectivity and weights of one synapse group.
#[derive(Debug, Clone, PartialEq)]
pub enum Synapses {
    /// A convolution; explicit paddings (Keras `same` and any ZeroPadding2D
    /// folded in). Kernel `kh x kw x cin x cout`.
    Conv {
        kernel: Array4<f32>,
        strides: (usize, usize),
        pad: Pad,
    },
    /// Fully connected, `inputs x units`; a flattened map is read in
    /// channels-last order.
    Dense { kernel: Array2<f32> },
    /// Average pooling as synapses: each input channel connects to the same
    /// output channel with weight `scale[c] / count`, where `count` is the
    /// number of in-bounds elements of the window (TensorFlow's rule).
    AvgPool {
        size: (usize, usize),
        strides: (usize, usize),
        pad: Pad,
        scale: Vec<f32>,
    },
    /// Global average pooling: weight `scale[c] / (H * W)`.
    GlobalAvgPool { scale: Vec<f32> },
    /// One-to-one (a residual shortcut) with weight `scale[c]`.
    Identity { scale: Vec<f32> },
}

impl Synapses {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Synapses::Conv { .. } => "conv",
            Synapses::Dense { .. } => "dense",
            Synapses::AvgPool { .. } => "avgpool",
            Synapses::GlobalAvgPool { .. } => "global_avgpool",
            Synapses::Identity { .. } => "identity",
        }
    }
}

/// One incoming synapse group of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub source: Source,
    pub synapses: Synapses,
}

/// What the layer's units do with their input current.
#[derive(Debug, Clone, PartialEq)]
pub enum Neurons {
    /// Integrate-and-fire with reset by subtraction (docs/ecc.md):
    /// `V += I; if V >= theta { spike; V -= theta }`, `V(0) = h * theta`.
    IntegrateAndFire { threshold: f32 },
    /// Spiking max pooling: each output spikes exactly when the largest
    /// accumulated spike count in its window (this step included) grows, so
    /// its count is the max of the window's counts. No current, no threshold.
    MaxGate {
        size: (usize, usize),
        strides: (usize, usize),
        pad: Pad,
    },
    /// The output layer: accumulates current, never fires; the class is the
    /// argmax of the potential (ties to the lowest index).
    Readout,
    /// The output layer as IF neurons; the class is the argmax of their spike
    /// counts (ties to the lowest index).
    SpikeCountReadout { threshold: f32 },
}

impl Neurons {
    /// Whether this is the network's output layer.
    pub fn is_readout(&self) -> bool {
        matches!(self, Neurons::Readout | Neurons::SpikeCountReadout { .. })
    }
}

/// A layer's constant current: one value per output channel, or one per
/// neuron (channels last) where a BatchNormalization folded forward through
/// zero padding gives border neurons less of its shift (docs/ecc.md).
#[derive(Debug, Clone, PartialEq)]
pub enum Bias<T> {
    Channel(Vec<T>),
    Neuron(Vec<T>),
}

impl<T: Copy> Bias<T> {
    /// Read back from a list: per channel if it has `channels` values (a
    /// layer with one neuron per channel reads the same either way).
    pub fn from_values(values: Vec<T>, channels: usize) -> Self {
        if values.len() == channels {
            Bias::Channel(values)
        } else {
            Bias::Neuron(values)
        }
    }

    /// The bias of neuron `i` (channels last, `channels` per pixel).
    pub fn at(&self, i: usize, channels: usize) -> T {
        match self {
            Bias::Channel(b) => b[i % channels],
            Bias::Neuron(b) => b[i],
        }
    }

    pub fn values(&self) -> &[T] {
        match self {
            Bias::Channel(b) | Bias::Neuron(b) => b,
        }
    }

    /// Each value mapped with its channel.
    pub fn map<U>(&self, channels: usize, mut f: impl FnMut(usize, T) -> U) -> Bias<U> {
        let mapped = |b: &[T], f: &mut dyn FnMut(usize, T) -> U| {
            b.iter()
                .enumerate()
                .map(|(i, &v)| f(i % channels, v))
                .collect()
        };
        match self {
            Bias::Channel(b) => Bias::Channel(mapped(b, &mut f)),
            Bias::Neuron(b) => Bias::Neuron(mapped(b, &mut f)),
        }
    }

    pub fn per_neuron(&self) -> bool {
        matches!(self, Bias::Neuron(_))
    }
}

/// One layer of the spiking network.
#[derive(Debug, Clone, PartialEq)]
pub struct SnnLayer {
    /// The Keras layer whose activation this layer reproduces.
    pub name: String,
    pub shape: Shape,
    pub neurons: Neurons,
    /// Incoming synapses (empty for a max gate, which reads `gate_source`).
    pub inputs: Vec<Connection>,
    /// For a max gate: the layer whose spikes it gates.
    pub gate_source: Option<Source>,
    /// Constant current added every step (per channel, or per neuron).
    pub bias: Option<Bias<f32>>,
    /// The activation scale lambda (per channel) the layer was normalised
    /// with; `1` for the readout. Kept for reports and diagnosis.
    pub lambda: Vec<f32>,
    /// The most spikes a neuron emits in one step (burst spikes, docs/ecc.md
    /// "Burst spikes"): an IF neuron fires and subtracts its threshold up to
    /// this many times, so its rate limit is its current clipped to
    /// `[0, burst]` instead of `[0, 1]`. 1 is the classic IF neuron; a max
    /// gate's is its source's; the potential readout's is 1 (it never fires).
    pub burst: u32,
}

impl SnnLayer {
    /// Number of neurons (or gate outputs).
    pub fn size(&self) -> usize {
        self.shape.len()
    }

    /// Whether the layer emits spikes (IF neurons, a max gate, a spike-count
    /// readout).
    pub fn spikes(&self) -> bool {
        !matches!(self.neurons, Neurons::Readout)
    }
}

/// A layer's initial membrane potential as a fraction of its threshold:
/// one for the whole layer, or one per output channel (`ecc::calibrate`
/// chooses either). In `snn.yaml` a number or a list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum InitialFraction {
    Layer(f32),
    Channels(Vec<f32>),
}

impl InitialFraction {
    /// The fraction of output channel `channel` (the network check makes a
    /// per-channel list as long as the layer's channels).
    pub fn at(&self, channel: usize) -> f32 {
        match self {
            InitialFraction::Layer(h) => *h,
            InitialFraction::Channels(hs) => hs[channel],
        }
    }

    /// Every fraction it holds (one for a layer).
    pub fn values(&self) -> &[f32] {
        match self {
            InitialFraction::Layer(h) => std::slice::from_ref(h),
            InitialFraction::Channels(hs) => hs,
        }
    }
}

impl std::fmt::Display for InitialFraction {
    /// `0.3`, or `-0.4..0.8` (the range of a per-channel list).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitialFraction::Layer(h) => write!(f, "{h:.1}"),
            InitialFraction::Channels(hs) => {
                let lo = hs.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = hs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                write!(f, "{lo:.1}..{hi:.1}")
            }
        }
    }
}

impl SnnModel {
    /// The most spikes layer `li` may emit at step `t` (from 1).
    pub fn burst_at(&self, li: usize, t: usize) -> u32 {
        if super::burst::bursting(t, self.burst_after) {
            self.layers[li].burst
        } else {
            1
        }
    }

    /// The initial membrane potential of layer `li`, as fractions of its
    /// threshold.
    pub fn h_of(&self, li: usize) -> InitialFraction {
        self.h_layers
            .as_ref()
            .map_or(InitialFraction::Layer(self.h), |h| h[li].clone())
    }
}

/// A converted network ready to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SnnModel {
    pub name: String,
    pub input_shape: Shape,
    /// Layers in simulation order; the last is the readout.
    pub layers: Vec<SnnLayer>,
    /// Initial membrane potential as a fraction of the threshold (ECC
    /// technique 3); 0 gives the classic Diehl/Rueckauer conversion.
    pub h: f32,
    /// Initial fractions per layer (or per channel of a layer) instead
    /// (`ecc::calibrate`: chosen on the calibration images so each layer's
    /// spike counts match the CNN's activations over a short run); `None`:
    /// `h` everywhere.
    pub h_layers: Option<Vec<InitialFraction>>,
    /// Multiply-accumulates per image of the CNN the network came from.
    pub cnn_macs: u64,
    /// Smallest and largest input value seen in calibration, for choosing
    /// the input's fixed-point format (`None` if not recorded).
    pub input_range: Option<[f32; 2]>,
    /// Steps at one spike a step before burst spikes begin (docs/ecc.md
    /// "Burst spikes"): at step `t` (from 1) a layer's `burst` applies when
    /// `t > burst_after`, else 1. The first steps are the transient the
    /// initial potentials are calibrated for at one spike a step; bursts
    /// after it release the charge clipped neurons kept, so the rate limit
    /// is the same. 0: bursts from the first step.
    pub burst_after: u32,
}
