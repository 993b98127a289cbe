//! Which graph nodes become spiking layers, and the synapses between them.
//!
//! After folding, a convertible graph alternates linear maps (Conv2D, Dense,
//! Add of branches, Flatten, ZeroPadding2D) with nonlinear points: ReLU (IF
//! neurons), average / global average pooling (spiking pools with their own
//! scale), max pooling (a spike-count gate) and the output (readout). Each
//! nonlinear point becomes one layer whose incoming synapses are the linear
//! map from the nearest earlier layers.

use std::collections::HashMap;

use super::ConvertError;
use crate::ir::{Activation, Graph, NodeId, Op, Pad, PoolKind, Shape};
use crate::snn::{Bias, Synapses};

/// What a planned layer does (thresholds and scales come later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedKind {
    IntegrateAndFire,
    MaxGate,
    Readout,
}

/// One incoming synapse group, unnormalised; `source` is a graph node id
/// (0 for the input, else another planned layer's node).
#[derive(Debug, Clone)]
pub struct Term {
    pub source: NodeId,
    pub synapses: Synapses,
}

/// A layer before normalisation: float weights exactly as in the CNN.
#[derive(Debug, Clone)]
pub struct PlannedLayer {
    /// The graph node whose activation this layer reproduces.
    pub node: NodeId,
    pub kind: PlannedKind,
    pub terms: Vec<Term>,
    /// For a max gate: the node it gates.
    pub gate_source: Option<NodeId>,
    pub bias: Option<Bias<f32>>,
}

/// Plan the spiking layers of a folded, stripped graph.
pub fn plan_layers(g: &Graph) -> Result<Vec<PlannedLayer>, ConvertError> {
    let output = g.output();
    let mut layers = Vec::new();
    let mut is_layer: HashMap<NodeId, ()> = HashMap::new();
    is_layer.insert(0, ());
    for (id, node) in g.nodes().iter().enumerate().skip(1) {
        let planned = match &node.op {
            _ if id == output => Some(readout(g, id, &is_layer)?),
            // A separate ReLU and one fused into Conv2D/Dense plan the same
            // layer: only where its input expression starts differs.
            Op::Activation(Activation::Relu) => {
                Some(if_layer(id, expression(g, node.inputs[0], &is_layer)?))
            }
            Op::Conv2d(_) | Op::Dense(_) if node.op.activation() == Some(Activation::Relu) => {
                Some(if_layer(id, weighted(g, id, &is_layer)?))
            }
            Op::Pool2d(pool) => {
                let (source, zero_pad, _) =
                    resolve_source(g, node.inputs[0], &is_layer, &node.name)?;
                if zero_pad != Pad::default() {
                    // TensorFlow averages explicit zero padding but not
                    // implicit `same` padding; one synapse rule cannot do both.
                    return Err(ConvertError::Structure {
                        layer: node.name.clone(),
                        reason: "ZeroPadding2D directly before pooling is not supported".into(),
                    });
                }
                let hw = map_hw(g, node.inputs[0]);
                let pad = pool.window.pads(hw.0, hw.1);
                Some(match pool.kind {
                    PoolKind::Average => PlannedLayer {
                        node: id,
                        kind: PlannedKind::IntegrateAndFire,
                        terms: vec![Term {
                            source,
                            synapses: Synapses::AvgPool {
                                size: pool.window.size,
                                strides: pool.window.strides,
                                pad,
                                scale: vec![1.0; node.shape.channels()],
                            },
                        }],
                        gate_source: None,
                        bias: None,
                    },
                    PoolKind::Max => PlannedLayer {
                        node: id,
                        kind: PlannedKind::MaxGate,
                        terms: Vec::new(),
                        gate_source: Some(source),
                        bias: None,
                    },
                })
            }
            // A global average read only by Dense layers is linear: it
            // becomes part of their synapses (`weighted`), not a spiking
            // layer that would re-quantise the average at a rate and delay
            // everything after it.
            Op::GlobalAveragePool { .. } if read_only_by_dense(g, id) => None,
            Op::GlobalAveragePool { .. } => {
                let (source, _, _) = resolve_source(g, node.inputs[0], &is_layer, &node.name)?;
                Some(PlannedLayer {
                    node: id,
                    kind: PlannedKind::IntegrateAndFire,
                    terms: vec![Term {
                        source,
                        synapses: Synapses::GlobalAvgPool {
                            scale: vec![1.0; node.shape.channels()],
                        },
                    }],
                    gate_source: None,
                    bias: None,
                })
            }
            // Linear pieces; they are read when a later layer expands its input.
            Op::Conv2d(_) | Op::Dense(_) | Op::Add | Op::Flatten | Op::ZeroPad2d(_) => None,
            other => {
                return Err(ConvertError::Structure {
                    layer: node.name.clone(),
                    reason: format!("{} cannot be converted here", other.kind_name()),
                })
            }
        };
        if let Some(layer) = planned {
            is_layer.insert(id, ());
            layers.push(layer);
        }
    }
    check_linear_nodes_used(g, &is_layer)?;
    if layers.is_empty() {
        // A model that is only its input (or only reshapes it) has no
        // read-out for a network to end in.
        return Err(ConvertError::Structure {
            layer: g.node(0).name.clone(),
            reason: "the model has no layer after its input, so there is no network to convert"
                .into(),
        });
    }
    Ok(layers)
}

/// An IF layer at `node` with the given input expression.
fn if_layer(node: NodeId, (terms, bias): (Vec<Term>, Option<Bias<f32>>)) -> PlannedLayer {
    PlannedLayer {
        node,
        kind: PlannedKind::IntegrateAndFire,
        terms,
        gate_source: None,
        bias,
    }
}

fn readout(
    g: &Graph,
    id: NodeId,
    is_layer: &HashMap<NodeId, ()>,
) -> Result<PlannedLayer, ConvertError> {
    let node = g.node(id);
    let (terms, bias) = match &node.op {
        Op::Conv2d(_) | Op::Dense(_) => weighted(g, id, is_layer)?,
        _ => {
            return Err(ConvertError::Structure {
                layer: node.name.clone(),
                reason: format!(
                    "the output layer is {}; snncc reads out the membrane potential of a final Conv2D or Dense",
                    node.op.kind_name()
                ),
            })
        }
    };
    Ok(PlannedLayer {
        node: id,
        kind: PlannedKind::Readout,
        terms,
        gate_source: None,
        bias,
    })
}

/// Terms and bias of a node computing a linear function of earlier layers.
fn expression(
    g: &Graph,
    id: NodeId,
    is_layer: &HashMap<NodeId, ()>,
) -> Result<(Vec<Term>, Option<Bias<f32>>), ConvertError> {
    let node = g.node(id);
    if is_layer.contains_key(&id) {
        return Ok((
            vec![Term {
                source: id,
                synapses: Synapses::Identity {
                    scale: vec![1.0; node.shape.channels()],
                },
            }],
            None,
        ));
    }
    match &node.op {
        Op::Conv2d(_) | Op::Dense(_) => weighted(g, id, is_layer),
        Op::Add => {
            let mut terms = Vec::new();
            let mut bias: Option<Bias<f32>> = None;
            let c = node.shape.channels();
            for &input in &node.inputs {
                let (t, b) = expression(g, input, is_layer)?;
                terms.extend(t);
                if let Some(b) = b {
                    bias = Some(match bias {
                        None => b,
                        Some(acc) => add_biases(&acc, &b, c, node.shape.len()),
                    });
                }
            }
            Ok((terms, bias))
        }
        other => Err(ConvertError::Structure {
            layer: node.name.clone(),
            reason: format!(
                "{} feeds a ReLU directly; snncc converts ReLU after Conv2D, Dense or Add",
                other.kind_name()
            ),
        }),
    }
}

/// The single term of a Conv2D/Dense node, with its bias.
fn weighted(
    g: &Graph,
    id: NodeId,
    is_layer: &HashMap<NodeId, ()>,
) -> Result<(Vec<Term>, Option<Bias<f32>>), ConvertError> {
    let node = g.node(id);
    let (source, zero_pad, averaged) = resolve_source(g, node.inputs[0], is_layer, &node.name)?;
    let (synapses, bias) = match &node.op {
        Op::Conv2d(c) => {
            let hw = map_hw(g, node.inputs[0]);
            let pad = add_pads(zero_pad, c.window.pads(hw.0, hw.1));
            (
                Synapses::Conv {
                    kernel: c.kernel.clone(),
                    strides: c.window.strides,
                    pad,
                },
                conv_bias(c),
            )
        }
        Op::Dense(d) => (
            Synapses::Dense {
                kernel: match averaged {
                    // Through a global average of an h x w map: every pixel
                    // of channel c connects with W[c] / (h w).
                    Some(pixels) => {
                        let (c, units) = d.kernel.dim();
                        let k = 1.0 / pixels as f32;
                        ndarray::Array2::from_shape_fn((pixels * c, units), |(i, u)| {
                            d.kernel[[i % c, u]] * k
                        })
                    }
                    None => d.kernel.clone(),
                },
            },
            d.bias.as_ref().map(|b| Bias::Channel(b.to_vec())),
        ),
        _ => unreachable!("weighted is called on Conv2D/Dense only"),
    };
    Ok((vec![Term { source, synapses }], bias))
}

/// A convolution's bias: per channel, or per neuron with its border map.
fn conv_bias(c: &crate::ir::Conv2d) -> Option<Bias<f32>> {
    let Some(map) = &c.bias_map else {
        return c.bias.as_ref().map(|b| Bias::Channel(b.to_vec()));
    };
    let cout = map.dim().2;
    let base = |co: usize| c.bias.as_ref().map_or(0.0, |b| b[co]);
    Some(Bias::Neuron(
        map.iter()
            .enumerate()
            .map(|(i, &m)| base(i % cout) + m)
            .collect(),
    ))
}

/// The sum of two biases of one map (`channels` per pixel, `neurons` in
/// all): per channel if both are.
fn add_biases(a: &Bias<f32>, b: &Bias<f32>, channels: usize, neurons: usize) -> Bias<f32> {
    match (a, b) {
        (Bias::Channel(x), Bias::Channel(y)) => {
            Bias::Channel(x.iter().zip(y).map(|(p, q)| p + q).collect())
        }
        _ => Bias::Neuron(
            (0..neurons)
                .map(|i| a.at(i, channels) + b.at(i, channels))
                .collect(),
        ),
    }
}

/// Whether every consumer of `id` is a Dense layer (through Flatten).
fn read_only_by_dense(g: &Graph, id: NodeId) -> bool {
    let consumers = g.consumers(id);
    !consumers.is_empty()
        && consumers.into_iter().all(|c| match g.node(c).op {
            Op::Dense(_) => true,
            Op::Flatten => read_only_by_dense(g, c),
            _ => false,
        })
}

/// Follow Flatten, ZeroPadding2D and a global average read by Dense layers
/// back to the spiking layer (or the input) that feeds `id`; the padding met
/// on the way is returned, and the pixels a global average spans. Anything
/// else means two linear maps meet without a neuron between them.
fn resolve_source(
    g: &Graph,
    mut id: NodeId,
    is_layer: &HashMap<NodeId, ()>,
    consumer: &str,
) -> Result<(NodeId, Pad, Option<usize>), ConvertError> {
    let mut pad = Pad::default();
    let mut averaged = None;
    loop {
        if is_layer.contains_key(&id) {
            return Ok((id, pad, averaged));
        }
        let node = g.node(id);
        match &node.op {
            Op::Flatten => id = node.inputs[0],
            Op::GlobalAveragePool { .. } if averaged.is_none() && pad == Pad::default() => {
                let (h, w) = map_hw(g, node.inputs[0]);
                averaged = Some(h * w);
                id = node.inputs[0];
            }
            Op::ZeroPad2d(p) => {
                pad = add_pads(pad, *p);
                id = node.inputs[0];
            }
            other => {
                return Err(ConvertError::Structure {
                    layer: consumer.to_string(),
                    reason: format!(
                        "its input comes from {} '{}' without a ReLU in between; a spiking layer needs non-negative activations to encode",
                        other.kind_name(),
                        node.name
                    ),
                })
            }
        }
    }
}

/// Every Conv2D/Dense/Add must end up inside some layer's expression: one
/// that is followed by something other than a ReLU (say a pool) cannot be
/// represented by spikes.
fn check_linear_nodes_used(g: &Graph, is_layer: &HashMap<NodeId, ()>) -> Result<(), ConvertError> {
    for (id, node) in g.nodes().iter().enumerate() {
        if is_layer.contains_key(&id) || !matches!(node.op, Op::Conv2d(_) | Op::Dense(_) | Op::Add)
        {
            continue;
        }
        for c in g.consumers(id) {
            let ok = matches!(g.node(c).op, Op::Activation(Activation::Relu) | Op::Add)
                || c == g.output() && matches!(node.op, Op::Conv2d(_) | Op::Dense(_));
            if !ok {
                return Err(ConvertError::Structure {
                    layer: node.name.clone(),
                    reason: format!(
                        "its output goes to {} '{}' without a ReLU; only ReLU (or a residual Add then ReLU) may follow a linear layer",
                        g.node(c).op.kind_name(),
                        g.node(c).name
                    ),
                });
            }
        }
    }
    Ok(())
}

fn map_hw(g: &Graph, id: NodeId) -> (usize, usize) {
    match g.node(id).shape {
        Shape::Map { h, w, .. } => (h, w),
        Shape::Vector { .. } => (1, 1),
    }
}

fn add_pads(a: Pad, b: Pad) -> Pad {
    Pad {
        top: a.top + b.top,
        bottom: a.bottom + b.bottom,
        left: a.left + b.left,
        right: a.right + b.right,
    }
}
