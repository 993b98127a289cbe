//! ECC conversion (docs/ecc.md): `ir::Graph` + calibration data -> `SnnModel`.
//!
//! 1. Consistency for batch normalisation: fold every BN into a Conv2D/Dense
//!    before measuring anything (`fold`).
//! 2. Current normalisation: measure each spiking layer's activation scale
//!    lambda on calibration data (`stats`) and rescale weights
//!    `W * lambda_in / lambda_out`, biases `b / lambda_out`, threshold 1.
//! 3. Thresholding for residual elimination: membranes start at `h * theta`.

mod calibrate;
mod fold;
mod plan;
mod roles;
mod stats;

use std::collections::HashMap;

use ndarray::ArrayView4;

pub use calibrate::{calibrate, Calibrated, Granularity, Lengths, CALIBRATION_IMAGES};
pub use fold::RewriteLog;
pub use roles::roles;
pub use stats::Norm;

use crate::ir::{Graph, NodeId, Op, Shape};
use crate::snn::{Connection, Neurons, SnnLayer, SnnModel, Source, Synapses, MAX_BURST};
use plan::{PlannedKind, PlannedLayer};

/// Errors of the conversion stage; each names the layer.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot fold BatchNormalization '{layer}': {reason}")]
    Fold { layer: String, reason: String },
    #[error("layer '{layer}' cannot be converted: {reason}")]
    Structure { layer: String, reason: String },
    #[error("graph rewrite failed: {0}")]
    Graph(String),
    #[error("calibration data: {0}")]
    Calibration(String),
}

/// Conversion settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvertOptions {
    pub norm: Norm,
    /// One lambda per channel instead of per layer (beyond the paper).
    pub per_channel: bool,
    /// Initial membrane potential as a fraction of the threshold.
    pub h: f32,
    pub readout: Readout,
    /// How many spikes an IF neuron may emit in one step.
    pub burst: Burst,
    /// Steps at one spike a step before bursts begin
    /// (`SnnModel::burst_after`).
    pub burst_after: u32,
}

/// The default `ConvertOptions::burst_after`: the longest run `auto`
/// calibration checks its candidates at (twice its longest length, 32),
/// so the initial potentials are chosen and checked for one spike a step,
/// and runs of up to 64 steps are what they were without bursts. On the
/// zoo's 2,000 digits bursts from the first step cost the residual models
/// 0.5 pp at T = 16, from step 33 one digit too many at 8 bits and T = 64
/// (benches/results/zoo/burst-after-{0,32}).
pub const BURST_AFTER: u32 = 64;

/// Burst spikes (docs/ecc.md "Burst spikes"): the most spikes an IF neuron
/// emits in one step. A scale below the largest activation (a percentile)
/// clips the rate limit at one spike a step; `Auto` gives each layer as
/// many as its largest calibration activation needs, so the rate limit is
/// the CNN's on every activation the calibration data reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Burst {
    /// The same number for every IF layer (1: the classic IF neuron).
    Fixed(u32),
    /// Per layer, `ceil(max / lambda)` over its channels, at most
    /// `snn::MAX_BURST`.
    Auto,
}

impl std::str::FromStr for Burst {
    type Err = String;

    /// `auto`, or a count from 1 to `snn::MAX_BURST`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "auto" {
            return Ok(Burst::Auto);
        }
        match s.parse::<u32>() {
            Ok(n) if (1..=MAX_BURST).contains(&n) => Ok(Burst::Fixed(n)),
            _ => Err(format!(
                "'{s}' is not auto or a number of spikes from 1 to {MAX_BURST}"
            )),
        }
    }
}

impl Burst {
    pub fn label(&self) -> String {
        match self {
            Burst::Fixed(n) => n.to_string(),
            Burst::Auto => "auto".into(),
        }
    }
}

/// How the class is read from the output layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Readout {
    /// Argmax of the accumulated membrane potential (docs/ecc.md default).
    #[default]
    Potential,
    /// The output layer fires too, normalised by its own activation scale;
    /// argmax of its spike counts.
    SpikeCount,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            norm: Norm::Percentile(99.9),
            per_channel: false,
            h: 0.5,
            readout: Readout::Potential,
            burst: Burst::Auto,
            burst_after: BURST_AFTER,
        }
    }
}

/// The converted network and what conversion did on the way.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub model: SnnModel,
    pub log: RewriteLog,
    /// The folded float CNN the statistics were measured on: its outputs are
    /// the CNN's, and its node activations are what each layer reproduces.
    pub folded: Graph,
    /// For each SNN layer, the folded graph node it reproduces.
    pub layer_nodes: Vec<NodeId>,
}

/// Convert a graph with ECC, measuring scales on `calib` (N x H x W x C).
pub fn convert(
    graph: &Graph,
    calib: ArrayView4<f32>,
    options: ConvertOptions,
) -> Result<Conversion, ConvertError> {
    if calib.dim().0 == 0 {
        return Err(ConvertError::Calibration("no calibration images".into()));
    }
    let mut log = RewriteLog::default();
    let stripped = fold::strip_inference_noops(graph, &mut log)?;
    let folded = fold::fold_batch_norm(&stripped, &mut log)?;
    let planned = plan::plan_layers(&folded)?;

    // Scales: IF layers from statistics; a max gate inherits its source's;
    // the input's is 1: the simulator feeds the image as it is.
    let spike_readout = options.readout == Readout::SpikeCount;
    let if_layers: Vec<&PlannedLayer> = planned
        .iter()
        .filter(|l| {
            l.kind == PlannedKind::IntegrateAndFire
                || spike_readout && l.kind == PlannedKind::Readout
        })
        .collect();
    let if_nodes: Vec<NodeId> = if_layers.iter().map(|l| l.node).collect();
    let measured = stats::measure(&folded, calib, &if_nodes, options.norm, options.per_channel);
    let mut burst: HashMap<NodeId, u32> = HashMap::new();
    let mut capped = Vec::new();
    for (layer, m) in if_layers.iter().zip(&measured) {
        let node = layer.node;
        let b = match options.burst {
            _ if layer.kind == PlannedKind::Readout => 1,
            Burst::Fixed(n) => n,
            Burst::Auto => {
                let need = m.burst_needed();
                if need > MAX_BURST {
                    capped.push(format!("{} ({need})", folded.node(node).name));
                }
                need.min(MAX_BURST)
            }
        };
        burst.insert(node, b);
    }
    if !capped.is_empty() {
        log.warnings.push(format!(
            "burst spikes capped at {MAX_BURST} a step: the rate limit clips the largest \
             calibration activations of {} (spikes needed in brackets)",
            capped.join(", ")
        ));
    }
    let mut lambda: HashMap<NodeId, Vec<f32>> = if_nodes
        .into_iter()
        .zip(measured)
        .map(|(n, m)| (n, m.lambda))
        .collect();
    // The analog input reaches the first layer as it is (the simulator
    // feeds the image itself), so its scale is 1, whatever its range.
    lambda.insert(0, vec![1.0; calib.dim().3]);
    for layer in &planned {
        match layer.kind {
            PlannedKind::MaxGate => {
                let src = layer.gate_source.expect("a gate has a source");
                let l = lambda[&src].clone();
                lambda.insert(layer.node, l);
                let b = burst[&src];
                burst.insert(layer.node, b);
            }
            PlannedKind::Readout if !spike_readout => {
                let c = folded.node(layer.node).shape.channels();
                lambda.insert(layer.node, vec![1.0; c]);
            }
            PlannedKind::Readout => {}
            PlannedKind::IntegrateAndFire => {}
        }
    }
    log.changes.push(format!(
        "normalised {} spiking layer(s) with {} activation scales{}",
        planned
            .iter()
            .filter(|l| l.kind != PlannedKind::Readout)
            .count(),
        options.norm.label(),
        if options.per_channel {
            " per channel"
        } else {
            ""
        }
    ));

    let index: HashMap<NodeId, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, l)| (l.node, i))
        .collect();
    let source_of = |node: NodeId| {
        if node == 0 {
            Source::Input
        } else {
            Source::Layer(index[&node])
        }
    };
    let layers = planned
        .iter()
        .map(|l| {
            let b = burst.get(&l.node).copied().unwrap_or(1);
            normalise(&folded, l, &lambda, &source_of, spike_readout, b)
        })
        .collect();
    let bursts: Vec<String> = planned
        .iter()
        .filter_map(|l| {
            let b = burst.get(&l.node).copied().unwrap_or(1);
            (b > 1).then(|| format!("{} {b}", folded.node(l.node).name))
        })
        .collect();
    if !bursts.is_empty() {
        log.changes.push(format!(
            "burst spikes (most a neuron emits in a step): {}",
            bursts.join(", ")
        ));
    }
    let model = SnnModel {
        name: graph.name.clone(),
        input_shape: graph.input_shape(),
        layers,
        h: options.h,
        h_layers: None,
        cnn_macs: cnn_macs(graph),
        input_range: Some(input_range(calib)),
        burst_after: options.burst_after,
    };
    // What every later stage relies on, checked where the network is made
    // as where it is loaded.
    crate::snn::check_model(&model)
        .map_err(|(layer, reason)| ConvertError::Structure { layer, reason })?;
    Ok(Conversion {
        model,
        log,
        layer_nodes: planned.iter().map(|l| l.node).collect(),
        folded,
    })
}

/// Smallest and largest calibration input value, kept with the network for
/// choosing the input's fixed-point format.
pub fn input_range(calib: ArrayView4<f32>) -> [f32; 2] {
    calib
        .iter()
        .fold([f32::INFINITY, f32::NEG_INFINITY], |[lo, hi], &v| {
            [lo.min(v), hi.max(v)]
        })
}

/// Rescale one planned layer: `W * lambda_src[cin] / lambda[cout]`,
/// `b / lambda`, threshold 1.
fn normalise(
    g: &Graph,
    layer: &PlannedLayer,
    lambda: &HashMap<NodeId, Vec<f32>>,
    source_of: &dyn Fn(NodeId) -> Source,
    spike_readout: bool,
    burst: u32,
) -> SnnLayer {
    let out = &lambda[&layer.node];
    let node = g.node(layer.node);
    let inputs = layer
        .terms
        .iter()
        .map(|term| {
            let src = &lambda[&term.source];
            let ratio = |cin: usize, cout: usize| src[cin % src.len()] / out[cout];
            let synapses = match &term.synapses {
                Synapses::Conv {
                    kernel,
                    strides,
                    pad,
                } => {
                    let mut k = kernel.clone();
                    for ((_, _, ci, co), w) in k.indexed_iter_mut() {
                        *w *= ratio(ci, co);
                    }
                    Synapses::Conv {
                        kernel: k,
                        strides: *strides,
                        pad: *pad,
                    }
                }
                Synapses::Dense { kernel } => {
                    let mut k = kernel.clone();
                    for ((i, u), w) in k.indexed_iter_mut() {
                        *w *= ratio(i, u);
                    }
                    Synapses::Dense { kernel: k }
                }
                Synapses::AvgPool {
                    size, strides, pad, ..
                } => Synapses::AvgPool {
                    size: *size,
                    strides: *strides,
                    pad: *pad,
                    scale: (0..out.len()).map(|c| ratio(c, c)).collect(),
                },
                Synapses::GlobalAvgPool { .. } => Synapses::GlobalAvgPool {
                    scale: (0..out.len()).map(|c| ratio(c, c)).collect(),
                },
                Synapses::Identity { .. } => Synapses::Identity {
                    scale: (0..out.len()).map(|c| ratio(c, c)).collect(),
                },
            };
            Connection {
                source: source_of(term.source),
                synapses,
            }
        })
        .collect();
    let neurons = match layer.kind {
        PlannedKind::IntegrateAndFire => Neurons::IntegrateAndFire { threshold: 1.0 },
        PlannedKind::Readout if spike_readout => Neurons::SpikeCountReadout { threshold: 1.0 },
        PlannedKind::Readout => Neurons::Readout,
        PlannedKind::MaxGate => {
            let Op::Pool2d(p) = &node.op else {
                unreachable!("a gate comes from a max pool")
            };
            let src = node.inputs[0];
            let (h, w) = match g.node(src).shape {
                Shape::Map { h, w, .. } => (h, w),
                Shape::Vector { .. } => (1, 1),
            };
            Neurons::MaxGate {
                size: p.window.size,
                strides: p.window.strides,
                pad: p.window.pads(h, w),
            }
        }
    };
    SnnLayer {
        name: node.name.clone(),
        shape: node.shape,
        neurons,
        inputs,
        gate_source: layer.gate_source.map(source_of),
        bias: layer
            .bias
            .as_ref()
            .map(|b| b.map(out.len(), |c, v| v / out[c])),
        lambda: out.clone(),
        burst,
    }
}

/// Multiply-accumulates of one CNN inference (Conv2D and Dense layers).
pub fn cnn_macs(g: &Graph) -> u64 {
    g.nodes()
        .iter()
        .map(|n| match &n.op {
            Op::Conv2d(c) => {
                let (kh, kw, cin, _) = c.kernel.dim();
                (n.shape.len() * kh * kw * cin) as u64
            }
            Op::Dense(d) => d.kernel.len() as u64,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Activation, Conv2d, Dense, Padding, Window};
    use crate::snn::simulate_dataset;
    use ndarray::{Array1, Array2, Array4};

    /// conv(3x3, 4 ch) -> relu -> flatten -> dense(3), the ReLU either fused
    /// into the convolution or as its own Activation layer.
    fn net(fused: bool) -> Graph {
        let mut g = Graph::new("n", "in", Shape::Map { h: 6, w: 6, c: 1 });
        let conv = Op::Conv2d(Conv2d {
            kernel: Array4::from_shape_fn((3, 3, 1, 4), |(a, b, _, d)| {
                ((a * 3 + b + d) % 5) as f32 * 0.2 - 0.3
            }),
            bias: Some(Array1::from(vec![0.1, 0.0, -0.05, 0.2])),
            bias_map: None,
            window: Window {
                size: (3, 3),
                strides: (1, 1),
                padding: Padding::Valid,
            },
            activation: if fused {
                Activation::Relu
            } else {
                Activation::Linear
            },
        });
        let mut last = g.add("conv", conv, vec![0]).unwrap();
        if !fused {
            last = g
                .add("relu", Op::Activation(Activation::Relu), vec![last])
                .unwrap();
        }
        let flat = g.add("flat", Op::Flatten, vec![last]).unwrap();
        let dense = Op::Dense(Dense {
            kernel: Array2::from_shape_fn((64, 3), |(i, j)| {
                ((i * 7 + j * 3) % 11) as f32 * 0.05 - 0.25
            }),
            bias: None,
            activation: Activation::Linear,
        });
        g.add("out", dense, vec![flat]).unwrap();
        g
    }

    #[test]
    fn fused_relu_converts_exactly_like_a_separate_activation() {
        let calib = ndarray::Array4::from_shape_fn((8, 6, 6, 1), |(n, y, x, _)| {
            ((n * 13 + y * 5 + x * 3) % 10) as f32 / 9.0
        });
        let a = convert(&net(true), calib.view(), ConvertOptions::default()).unwrap();
        let b = convert(&net(false), calib.view(), ConvertOptions::default()).unwrap();
        assert_eq!(a.model.layers.len(), b.model.layers.len());
        for (la, lb) in a.model.layers.iter().zip(&b.model.layers) {
            assert_eq!(la.inputs, lb.inputs);
            assert_eq!(la.bias, lb.bias);
            assert_eq!(la.lambda, lb.lambda);
            assert_eq!(la.neurons, lb.neurons);
        }
        let labels = vec![1; 8];
        let ra = simulate_dataset(
            &a.model,
            calib.view(),
            Some(&labels),
            &crate::snn::Timesteps::new(vec![16, 64]).unwrap(),
            None,
            &|| {},
        );
        let rb = simulate_dataset(
            &b.model,
            calib.view(),
            Some(&labels),
            &crate::snn::Timesteps::new(vec![16, 64]).unwrap(),
            None,
            &|| {},
        );
        for (x, y) in ra.runs.iter().zip(&rb.runs) {
            assert_eq!(x.accuracy, y.accuracy);
            assert_eq!(x.spikes_per_image, y.spikes_per_image);
            assert_eq!(x.synops_per_image, y.synops_per_image);
        }
    }

    #[test]
    fn max_norm_makes_the_largest_calibration_activation_one_threshold() {
        let calib = ndarray::Array4::from_shape_fn((4, 6, 6, 1), |(n, y, x, _)| {
            ((n + y * x) % 4) as f32 / 3.0
        });
        let opts = ConvertOptions {
            norm: Norm::Max,
            ..Default::default()
        };
        let conv = convert(&net(true), calib.view(), opts).unwrap();
        // Largest normalised pre-activation over the calibration set is 1.
        let layer = &conv.model.layers[0];
        let lambda = layer.lambda[0];
        let mut largest = 0f32;
        for i in 0..4 {
            let acts =
                crate::reference::run_all(&conv.folded, calib.index_axis(ndarray::Axis(0), i));
            largest = largest.max(
                acts[conv.layer_nodes[0]]
                    .iter()
                    .copied()
                    .fold(0.0, f32::max),
            );
        }
        assert!(
            (largest / lambda - 1.0).abs() < 1e-6,
            "{largest} vs {lambda}"
        );
        assert_eq!(layer.neurons, Neurons::IntegrateAndFire { threshold: 1.0 });
    }
}
