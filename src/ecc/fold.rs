//! IR rewrites that make a Keras graph spiking-ready, each reporting what it
//! changed: fold BatchNormalization into the adjacent Conv2D/Dense (ECC
//! technique 1, "consistency maintenance"), and remove what inference does
//! not need (Dropout, linear activations, the final softmax, a ReLU that
//! repeats a fused one).

use ndarray::{Array1, Axis};

use super::ConvertError;
use crate::ir::{Activation, BatchNorm, Graph, NodeId, Op};

/// What a rewrite pass did, for the user's log.
#[derive(Debug, Default, Clone)]
pub struct RewriteLog {
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
}

/// How one node survives a rewrite.
enum Fate {
    Keep(Op),
    /// The node disappears; its consumers read its (first) input instead.
    Bypass,
}

/// Rebuild `g` with each node's fate; bypassed nodes are spliced out.
fn rebuild(g: &Graph, fates: Vec<Fate>) -> Result<Graph, ConvertError> {
    let input = g.node(0);
    let mut out = Graph::new(g.name.clone(), input.name.clone(), input.shape);
    // New id of each old node (a bypassed node maps to its input's new id).
    let mut new_id: Vec<NodeId> = vec![0; g.nodes().len()];
    for (id, (node, fate)) in g.nodes().iter().zip(fates).enumerate().skip(1) {
        let inputs: Vec<NodeId> = node.inputs.iter().map(|&i| new_id[i]).collect();
        new_id[id] = match fate {
            Fate::Bypass => inputs[0],
            Fate::Keep(op) => out
                .add(node.name.clone(), op, inputs)
                .map_err(|e| ConvertError::Graph(e.to_string()))?,
        };
    }
    out.set_output(new_id[g.output()]);
    Ok(out)
}

/// Remove Dropout and linear activations, turn the output softmax into a
/// linear readout (argmax is unchanged), and drop a ReLU that follows a
/// ReLU-fused layer.
pub fn strip_inference_noops(g: &Graph, log: &mut RewriteLog) -> Result<Graph, ConvertError> {
    let mut fates = Vec::with_capacity(g.nodes().len());
    let mut removed = Vec::new();
    for (id, node) in g.nodes().iter().enumerate() {
        let producer_relu = node
            .inputs
            .first()
            .is_some_and(|&i| g.node(i).op.activation() == Some(Activation::Relu));
        let fate = match &node.op {
            Op::Dropout { .. } | Op::Activation(Activation::Linear) => Fate::Bypass,
            Op::Activation(Activation::Softmax) => Fate::Bypass,
            Op::Activation(Activation::Relu) if producer_relu => Fate::Bypass,
            Op::Conv2d(c) if c.activation == Activation::Softmax => {
                let mut c = c.clone();
                c.activation = Activation::Linear;
                removed.push(format!("{} (softmax)", node.name));
                Fate::Keep(Op::Conv2d(c))
            }
            Op::Dense(d) if d.activation == Activation::Softmax => {
                let mut d = d.clone();
                d.activation = Activation::Linear;
                removed.push(format!("{} (softmax)", node.name));
                Fate::Keep(Op::Dense(d))
            }
            other => Fate::Keep(other.clone()),
        };
        if id > 0 && matches!(fate, Fate::Bypass) {
            removed.push(node.name.clone());
        }
        fates.push(fate);
    }
    if !removed.is_empty() {
        log.changes.push(format!(
            "removed {} layer(s) inference does not need: {}",
            removed.len(),
            removed.join(", ")
        ));
    }
    rebuild(g, fates)
}

/// Fold every BatchNormalization into a Conv2D/Dense: backwards into the
/// layer it follows when that layer is linear and feeds only the BN,
/// otherwise forwards into the Conv2D/Dense layers that consume it.
pub fn fold_batch_norm(g: &Graph, log: &mut RewriteLog) -> Result<Graph, ConvertError> {
    let mut ops: Vec<Op> = g.nodes().iter().map(|n| n.op.clone()).collect();
    let mut bypass = vec![false; ops.len()];
    let mut backward = Vec::new();
    let mut forward = Vec::new();
    for (id, node) in g.nodes().iter().enumerate() {
        let Op::BatchNorm(bn) = &node.op else {
            continue;
        };
        let (scale, shift) = bn.affine();
        let src = node.inputs[0];
        let src_linear = matches!(&ops[src], Op::Conv2d(c) if c.activation == Activation::Linear)
            || matches!(&ops[src], Op::Dense(d) if d.activation == Activation::Linear);
        if src_linear && g.consumers(src).len() == 1 {
            fold_into_producer(&mut ops[src], &scale, &shift);
            backward.push(format!("{} into {}", node.name, g.node(src).name));
        } else {
            let targets = forward_targets(g, id, &scale).map_err(|reason| ConvertError::Fold {
                layer: node.name.clone(),
                reason,
            })?;
            for (target, through_padding) in targets {
                let padded = through_padding
                    || matches!(&ops[target], Op::Conv2d(c) if c.window.pads(
                        input_hw(g, target).0, input_hw(g, target).1) != Default::default());
                fold_into_consumer(&mut ops[target], bn, &scale, &shift);
                if padded {
                    log.warnings.push(format!(
                        "{} folded forward into {}: exact inside the map, approximate at its zero-padded border (the padding now holds BN(0) instead of 0)",
                        node.name,
                        g.node(target).name
                    ));
                }
                forward.push(format!("{} into {}", node.name, g.node(target).name));
            }
        }
        bypass[id] = true;
    }
    if !backward.is_empty() {
        log.changes.push(format!(
            "folded {} BatchNormalization layer(s) into the layer before: {}",
            backward.len(),
            backward.join(", ")
        ));
    }
    if !forward.is_empty() {
        log.changes.push(format!(
            "folded {} BatchNormalization layer(s) forward into the next layer: {}",
            forward.len(),
            forward.join(", ")
        ));
    }
    let fates = ops
        .into_iter()
        .zip(bypass)
        .map(|(op, b)| if b { Fate::Bypass } else { Fate::Keep(op) })
        .collect();
    rebuild(g, fates)
}

fn input_hw(g: &Graph, id: NodeId) -> (usize, usize) {
    match g.node(g.node(id).inputs[0]).shape {
        crate::ir::Shape::Map { h, w, .. } => (h, w),
        crate::ir::Shape::Vector { .. } => (1, 1),
    }
}

/// `W' = a * W` per output channel, `b' = a * b + shift` (BN after a linear
/// layer: `a * (W x + b) + shift`).
fn fold_into_producer(op: &mut Op, scale: &[f64], shift: &[f64]) {
    let (kernel_out_axis, bias, len) = match op {
        Op::Conv2d(c) => {
            for (co, mut k) in c.kernel.axis_iter_mut(Axis(3)).enumerate() {
                k.mapv_inplace(|w| (f64::from(w) * scale[co]) as f32);
            }
            (3, &mut c.bias, c.kernel.dim().3)
        }
        Op::Dense(d) => {
            for (co, mut k) in d.kernel.axis_iter_mut(Axis(1)).enumerate() {
                k.mapv_inplace(|w| (f64::from(w) * scale[co]) as f32);
            }
            (1, &mut d.bias, d.kernel.dim().1)
        }
        _ => unreachable!("only linear Conv2D/Dense are folded into"),
    };
    let _ = kernel_out_axis;
    let old = bias.take().unwrap_or_else(|| Array1::zeros(len));
    *bias = Some(Array1::from_shape_fn(len, |c| {
        (f64::from(old[c]) * scale[c] + shift[c]) as f32
    }));
}

/// BN before a Conv2D/Dense: `W (a x + shift) + b = (W a) x + (W shift + b)`;
/// input channel `cin` of the kernel is scaled by `a[cin]`. A Dense after a
/// Flatten sees channels-last flat indices, whose channel is `i % C`.
fn fold_into_consumer(op: &mut Op, bn: &BatchNorm, scale: &[f64], shift: &[f64]) {
    let channels = bn.gamma.len();
    match op {
        Op::Conv2d(c) => {
            let (kh, kw, cin, cout) = c.kernel.dim();
            let mut extra = vec![0f64; cout];
            for ky in 0..kh {
                for kx in 0..kw {
                    for ci in 0..cin {
                        for (co, e) in extra.iter_mut().enumerate() {
                            let w = f64::from(c.kernel[[ky, kx, ci, co]]);
                            *e += w * shift[ci];
                            c.kernel[[ky, kx, ci, co]] = (w * scale[ci]) as f32;
                        }
                    }
                }
            }
            add_bias(&mut c.bias, &extra);
        }
        Op::Dense(d) => {
            let (inputs, units) = d.kernel.dim();
            let mut extra = vec![0f64; units];
            for i in 0..inputs {
                let ch = i % channels;
                for (u, e) in extra.iter_mut().enumerate() {
                    let w = f64::from(d.kernel[[i, u]]);
                    *e += w * shift[ch];
                    d.kernel[[i, u]] = (w * scale[ch]) as f32;
                }
            }
            add_bias(&mut d.bias, &extra);
        }
        _ => unreachable!("forward_targets returns only Conv2D/Dense"),
    }
}

fn add_bias(bias: &mut Option<Array1<f32>>, extra: &[f64]) {
    let old = bias.take().unwrap_or_else(|| Array1::zeros(extra.len()));
    *bias = Some(Array1::from_shape_fn(extra.len(), |c| {
        (f64::from(old[c]) + extra[c]) as f32
    }));
}

/// The Conv2D/Dense layers a BN at `bn` can fold forward into, each with
/// whether the path crosses a ZeroPadding2D. Every path from the BN must end
/// in such a layer, through layers the per-channel affine map commutes with:
/// Flatten, ZeroPadding2D (exact but for the border), average and global
/// average pooling (a mean of `a x + b` is `a mean(x) + b`, and TensorFlow
/// averages in-bounds values only), and max pooling when every scale is
/// positive (then `max(a x + b) = a max(x) + b`).
fn forward_targets(g: &Graph, bn: NodeId, scale: &[f64]) -> Result<Vec<(NodeId, bool)>, String> {
    let mut targets = Vec::new();
    let mut stack = vec![(bn, false)];
    while let Some((id, padded)) = stack.pop() {
        let consumers = g.consumers(id);
        if consumers.is_empty() {
            return Err("it is the model output; nothing to fold it into".into());
        }
        for c in consumers {
            let node = g.node(c);
            match &node.op {
                Op::Conv2d(_) | Op::Dense(_) => targets.push((c, padded)),
                Op::Flatten
                | Op::GlobalAveragePool { .. }
                | Op::Pool2d(crate::ir::Pool2d {
                    kind: crate::ir::PoolKind::Average,
                    ..
                }) => stack.push((c, padded)),
                Op::Pool2d(_) if scale.iter().all(|&a| a > 0.0) => stack.push((c, padded)),
                Op::ZeroPad2d(_) => stack.push((c, true)),
                other => {
                    return Err(format!(
                        "it feeds {} '{}', which is not a Conv2D or Dense; snncc folds BN only into an adjacent Conv2D/Dense",
                        other.kind_name(),
                        node.name
                    ))
                }
            }
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Conv2d, Dense, Padding, Shape, Window};
    use crate::reference;
    use ndarray::{Array2, Array3, Array4};

    fn bn(c: usize, seed: f32) -> Op {
        Op::BatchNorm(BatchNorm {
            gamma: Array1::from_shape_fn(c, |i| 0.7 + 0.1 * i as f32 + seed),
            beta: Array1::from_shape_fn(c, |i| 0.2 - 0.15 * i as f32),
            moving_mean: Array1::from_shape_fn(c, |i| 0.3 * i as f32 - seed),
            moving_variance: Array1::from_shape_fn(c, |i| 0.5 + 0.4 * i as f32),
            epsilon: 0.001,
            learned: (true, true),
        })
    }

    fn conv(cin: usize, cout: usize, padding: Padding, act: Activation) -> Op {
        Op::Conv2d(Conv2d {
            kernel: Array4::from_shape_fn((3, 3, cin, cout), |(a, b, c, d)| {
                ((a * 7 + b * 3 + c * 5 + d) % 9) as f32 * 0.1 - 0.4
            }),
            bias: None,
            window: Window {
                size: (3, 3),
                strides: (1, 1),
                padding,
            },
            activation: act,
        })
    }

    fn max_diff(a: &Graph, b: &Graph) -> f32 {
        let x = Array3::from_shape_fn((6, 6, 2), |(i, j, k)| {
            ((i * 5 + j * 3 + k) % 7) as f32 / 7.0
        });
        let ya = reference::run(a, x.view());
        let yb = reference::run(b, x.view());
        ya.iter()
            .zip(&yb)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn backward_and_forward_folds_preserve_outputs() {
        let mut g = Graph::new("t", "in", Shape::Map { h: 6, w: 6, c: 2 });
        let c1 = g
            .add(
                "c1",
                conv(2, 3, Padding::Valid, Activation::Linear),
                vec![0],
            )
            .unwrap();
        let b1 = g.add("b1", bn(3, 0.0), vec![c1]).unwrap();
        let r1 = g
            .add("r1", Op::Activation(Activation::Relu), vec![b1])
            .unwrap();
        let b2 = g.add("b2", bn(3, 0.2), vec![r1]).unwrap();
        let c2 = g
            .add("c2", conv(3, 2, Padding::Valid, Activation::Relu), vec![b2])
            .unwrap();
        let f = g.add("f", Op::Flatten, vec![c2]).unwrap();
        let n = g.node(f).shape.len();
        let b3 = g.add("b3", bn(2, 0.1), vec![f]);
        // BN on a flat vector of 8 values must have 8 channels: rejected.
        assert!(b3.is_err());
        g.add(
            "d",
            Op::Dense(Dense {
                kernel: Array2::from_shape_fn((n, 4), |(i, j)| {
                    ((i + 2 * j) % 5) as f32 * 0.2 - 0.3
                }),
                bias: None,
                activation: Activation::Linear,
            }),
            vec![f],
        )
        .unwrap();
        let mut log = RewriteLog::default();
        let folded = fold_batch_norm(&g, &mut log).unwrap();
        assert!(folded
            .nodes()
            .iter()
            .all(|n| !matches!(n.op, Op::BatchNorm(_))));
        assert!(
            log.changes.iter().any(|c| c.contains("b1 into c1")),
            "{:?}",
            log.changes
        );
        assert!(
            log.changes.iter().any(|c| c.contains("b2 into c2")),
            "{:?}",
            log.changes
        );
        assert!(log.warnings.is_empty(), "valid convs have no padding");
        assert!(max_diff(&g, &folded) < 1e-5);
    }

    #[test]
    fn forward_fold_through_same_padding_warns() {
        let mut g = Graph::new("t", "in", Shape::Map { h: 6, w: 6, c: 2 });
        let r = g
            .add("r", Op::Activation(Activation::Relu), vec![0])
            .unwrap();
        let b = g.add("b", bn(2, 0.0), vec![r]).unwrap();
        g.add("c", conv(2, 2, Padding::Same, Activation::Linear), vec![b])
            .unwrap();
        let mut log = RewriteLog::default();
        fold_batch_norm(&g, &mut log).unwrap();
        assert_eq!(log.warnings.len(), 1);
        assert!(log.warnings[0].contains("border"));
    }

    #[test]
    fn bn_feeding_an_add_cannot_fold() {
        let mut g = Graph::new("t", "in", Shape::Map { h: 6, w: 6, c: 2 });
        let r = g
            .add("r", Op::Activation(Activation::Relu), vec![0])
            .unwrap();
        let b = g.add("b", bn(2, 0.0), vec![r]).unwrap();
        g.add("sum", Op::Add, vec![b, r]).unwrap();
        let err = fold_batch_norm(&g, &mut RewriteLog::default()).unwrap_err();
        assert!(err.to_string().contains("Add 'sum'"), "{err}");
    }

    #[test]
    fn bn_folds_forward_through_global_pooling_exactly() {
        let mut g = Graph::new("t", "in", Shape::Map { h: 6, w: 6, c: 2 });
        let r = g
            .add("r", Op::Activation(Activation::Relu), vec![0])
            .unwrap();
        let b = g.add("b", bn(2, 0.1), vec![r]).unwrap();
        let p = g
            .add("gap", Op::GlobalAveragePool { keepdims: false }, vec![b])
            .unwrap();
        let dense = Op::Dense(Dense {
            kernel: Array2::from_shape_fn((2, 3), |(i, j)| (i + 2 * j) as f32 * 0.3 - 0.4),
            bias: None,
            activation: Activation::Linear,
        });
        g.add("d", dense, vec![p]).unwrap();
        let mut log = RewriteLog::default();
        let folded = fold_batch_norm(&g, &mut log).unwrap();
        assert!(log.warnings.is_empty());
        assert!(max_diff(&g, &folded) < 1e-5);
    }
}
