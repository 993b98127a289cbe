//! IR rewrites that make a Keras graph spiking-ready, each reporting what it
//! changed: fold BatchNormalization into the adjacent Conv2D/Dense (ECC
//! technique 1, "consistency maintenance"), and remove what inference does
//! not need (Dropout, linear activations, the final softmax, a ReLU that
//! repeats a fused one).

use ndarray::{Array1, Array3, Axis};

use super::ConvertError;
use crate::ir::{Activation, BatchNorm, Graph, NodeId, Op, Pad};

/// What a rewrite pass did, for the user's log.
#[derive(Debug, Default, Clone)]
pub struct RewriteLog {
    pub changes: Vec<String>,
    pub warnings: Vec<String>,
}

/// How one node survives a rewrite.
enum Fate {
    Keep(Box<Op>),
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
                .add(node.name.clone(), *op, inputs)
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
                Fate::Keep(Box::new(Op::Conv2d(c)))
            }
            Op::Dense(d) if d.activation == Activation::Softmax => {
                let mut d = d.clone();
                d.activation = Activation::Linear;
                removed.push(format!("{} (softmax)", node.name));
                Fate::Keep(Box::new(Op::Dense(d)))
            }
            other => Fate::Keep(Box::new(other.clone())),
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
            for (target, explicit) in targets {
                let region = Region::of(g, target, explicit);
                let at_border = fold_into_consumer(&mut ops[target], bn, &scale, &shift, region);
                forward.push(format!(
                    "{} into {}{}",
                    node.name,
                    g.node(target).name,
                    if at_border {
                        " (a bias per position: the zero padding holds 0, not the BN's shift)"
                    } else {
                        ""
                    }
                ));
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
        .map(|(op, b)| {
            if b {
                Fate::Bypass
            } else {
                Fate::Keep(Box::new(op))
            }
        })
        .collect();
    rebuild(g, fates)
}

/// Where the BN's map lies in a target's input: the target reads a map of
/// `h x w` (after the explicit ZeroPadding2D met on the way, `explicit`);
/// only the rows and columns inside the padding hold `a x + shift`.
#[derive(Debug, Clone, Copy)]
struct Region {
    h: usize,
    w: usize,
    explicit: Pad,
}

impl Region {
    fn of(g: &Graph, target: NodeId, explicit: Pad) -> Region {
        // A Dense reads its map through a Flatten.
        let mut src = g.node(target).inputs[0];
        while matches!(g.node(src).op, Op::Flatten) {
            src = g.node(src).inputs[0];
        }
        let (h, w) = match g.node(src).shape {
            crate::ir::Shape::Map { h, w, .. } => (h, w),
            crate::ir::Shape::Vector { .. } => (1, 1),
        };
        Region { h, w, explicit }
    }

    /// Whether input row `y`, column `x` (possibly in a conv's own
    /// padding: negative or past the end) holds the BN's output.
    fn inside(&self, y: isize, x: isize) -> bool {
        let p = self.explicit;
        y >= p.top as isize
            && y < (self.h - p.bottom) as isize
            && x >= p.left as isize
            && x < (self.w - p.right) as isize
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
            // A border correction (an earlier BN folded forward into this
            // layer) is part of its output and scales with it.
            if let Some(map) = &mut c.bias_map {
                for ((_, _, co), v) in map.indexed_iter_mut() {
                    *v = (f64::from(*v) * scale[co]) as f32;
                }
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
///
/// Exact at the border too: zero padding (the conv's own or a
/// ZeroPadding2D's) holds 0, not `shift`, so a tap that reads padding adds
/// no `W shift`. An output position whose window reaches into padding gets
/// its own correction in the conv's `bias_map` (a Dense's inputs are fixed,
/// so its bias counts only the inputs inside). Returns whether any output
/// needed one.
fn fold_into_consumer(
    op: &mut Op,
    bn: &BatchNorm,
    scale: &[f64],
    shift: &[f64],
    region: Region,
) -> bool {
    let channels = bn.gamma.len();
    match op {
        Op::Conv2d(c) => {
            let (kh, kw, _, cout) = c.kernel.dim();
            let mut extra = vec![0f64; cout];
            for ((_, _, ci, co), &w) in c.kernel.indexed_iter() {
                extra[co] += f64::from(w) * shift[ci];
            }
            let own = c.window.pads(region.h, region.w);
            let (oh, ow) = c
                .window
                .output_size(region.h, region.w)
                .expect("the graph's shapes were inferred");
            let (sh, sw) = c.window.strides;
            let mut map = Array3::<f64>::zeros((oh, ow, cout));
            let mut any = false;
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let y = (oy * sh + ky) as isize - own.top as isize;
                            let x = (ox * sw + kx) as isize - own.left as isize;
                            if region.inside(y, x) {
                                continue;
                            }
                            any = true;
                            let taps = c.kernel.slice(ndarray::s![ky, kx, .., ..]);
                            for ((ci, co), &w) in taps.indexed_iter() {
                                map[[oy, ox, co]] -= f64::from(w) * shift[ci];
                            }
                        }
                    }
                }
            }
            for ((_, _, ci, _), w) in c.kernel.indexed_iter_mut() {
                *w = (f64::from(*w) * scale[ci]) as f32;
            }
            add_bias(&mut c.bias, &extra);
            if any {
                let old = c.bias_map.take();
                c.bias_map = Some(Box::new(Array3::from_shape_fn(
                    (oh, ow, cout),
                    |(y, x, co)| {
                        let prev = old.as_ref().map_or(0.0, |m| f64::from(m[[y, x, co]]));
                        (prev + map[[y, x, co]]) as f32
                    },
                )));
            }
            any
        }
        Op::Dense(d) => {
            let (inputs, units) = d.kernel.dim();
            let mut extra = vec![0f64; units];
            let mut any = false;
            for i in 0..inputs {
                let ch = i % channels;
                let px = i / channels;
                let inside = region.inside((px / region.w) as isize, (px % region.w) as isize);
                any |= !inside;
                for (u, e) in extra.iter_mut().enumerate() {
                    let w = f64::from(d.kernel[[i, u]]);
                    if inside {
                        *e += w * shift[ch];
                    }
                    d.kernel[[i, u]] = (w * scale[ch]) as f32;
                }
            }
            add_bias(&mut d.bias, &extra);
            any
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
/// the explicit ZeroPadding2D met on the way. Every path from the BN must
/// end in such a layer, through layers the per-channel affine map commutes
/// with: Flatten, ZeroPadding2D (the border is corrected exactly, see
/// `fold_into_consumer`), average and global average pooling (a mean of
/// `a x + b` is `a mean(x) + b`, and TensorFlow averages in-bounds values
/// only), and max pooling when every scale is positive (then
/// `max(a x + b) = a max(x) + b`). A pooling after a ZeroPadding2D would
/// average the padding's zeros with the shifted values: refused.
fn forward_targets(g: &Graph, bn: NodeId, scale: &[f64]) -> Result<Vec<(NodeId, Pad)>, String> {
    let mut targets = Vec::new();
    let mut stack = vec![(bn, Pad::default())];
    while let Some((id, padded)) = stack.pop() {
        let consumers = g.consumers(id);
        if consumers.is_empty() {
            return Err("it is the model output; nothing to fold it into".into());
        }
        for c in consumers {
            let node = g.node(c);
            let pooling = matches!(node.op, Op::GlobalAveragePool { .. } | Op::Pool2d(_));
            if pooling && padded != Pad::default() {
                return Err(format!(
                    "it reaches {} '{}' through a ZeroPadding2D; the pooling would mix the padding's zeros with the shifted values",
                    node.op.kind_name(),
                    node.name
                ));
            }
            match &node.op {
                Op::Conv2d(_) | Op::Dense(_) => targets.push((c, padded)),
                Op::Flatten
                | Op::GlobalAveragePool { .. }
                | Op::Pool2d(crate::ir::Pool2d {
                    kind: crate::ir::PoolKind::Average,
                    ..
                }) => stack.push((c, padded)),
                Op::Pool2d(_) if scale.iter().all(|&a| a > 0.0) => stack.push((c, padded)),
                Op::ZeroPad2d(p) => stack.push((
                    c,
                    Pad {
                        top: padded.top + p.top,
                        bottom: padded.bottom + p.bottom,
                        left: padded.left + p.left,
                        right: padded.right + p.right,
                    },
                )),
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
            bias_map: None,
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
    fn forward_fold_through_padding_is_exact_at_the_border() {
        // BN after a ReLU into convolutions that read zero padding: `same`
        // (stride 1 and 2) and an explicit ZeroPadding2D before a `valid`
        // one, and a Dense reading a padded map through a Flatten.
        for (stride, explicit) in [(1, false), (2, false), (1, true)] {
            let mut g = Graph::new("t", "in", Shape::Map { h: 6, w: 6, c: 2 });
            let r = g
                .add("r", Op::Activation(Activation::Relu), vec![0])
                .unwrap();
            let b = g.add("b", bn(2, 0.0), vec![r]).unwrap();
            let mut c = conv(2, 2, Padding::Same, Activation::Relu);
            let src = if explicit {
                c = conv(2, 2, Padding::Valid, Activation::Relu);
                let p = Pad {
                    top: 1,
                    bottom: 2,
                    left: 0,
                    right: 1,
                };
                g.add("pad", Op::ZeroPad2d(p), vec![b]).unwrap()
            } else {
                b
            };
            if let Op::Conv2d(conv) = &mut c {
                conv.window.strides = (stride, stride);
            }
            g.add("c", c, vec![src]).unwrap();
            if explicit {
                let f = g.add("f", Op::Flatten, vec![src]).unwrap();
                let n = g.node(f).shape.len();
                let dense = Op::Dense(Dense {
                    kernel: Array2::from_shape_fn((n, 3), |(i, j)| {
                        ((i + j) % 4) as f32 * 0.2 - 0.3
                    }),
                    bias: None,
                    activation: Activation::Linear,
                });
                g.add("d", dense, vec![f]).unwrap();
            }
            let mut log = RewriteLog::default();
            let folded = fold_batch_norm(&g, &mut log).unwrap();
            assert!(log.warnings.is_empty(), "{:?}", log.warnings);
            assert!(
                log.changes
                    .iter()
                    .any(|c| c.contains("a bias per position")),
                "{:?}",
                log.changes
            );
            let d = max_diff_outputs(&g, &folded);
            assert!(d < 1e-5, "stride {stride}, explicit {explicit}: {d}");
        }
    }

    /// Largest difference over the Conv2D/Dense nodes the two graphs share
    /// by name (every branch's, not only the graph's output; the nodes
    /// between a BN and its targets hold `x` instead of `a x + b` once the
    /// BN is folded).
    fn max_diff_outputs(a: &Graph, b: &Graph) -> f32 {
        let x = Array3::from_shape_fn((6, 6, 2), |(i, j, k)| {
            ((i * 5 + j * 3 + k) % 7) as f32 / 7.0 - 0.2
        });
        let ya = reference::run_all(a, x.view());
        let yb = reference::run_all(b, x.view());
        let mut worst = 0f32;
        for (i, node) in b.nodes().iter().enumerate() {
            if !matches!(node.op, Op::Conv2d(_) | Op::Dense(_)) {
                continue;
            }
            let Some(j) = a.nodes().iter().position(|n| n.name == node.name) else {
                continue;
            };
            for (p, q) in ya[j].iter().zip(&yb[i]) {
                worst = worst.max((p - q).abs());
            }
        }
        worst
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
