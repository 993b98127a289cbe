//! What conversion makes of each layer of an imported model, found by
//! running conversion's own rewrites and plan on the graph (no statistics),
//! so `snncc inspect` cannot drift from what `convert` does.

use std::collections::HashMap;

use super::plan::{plan_layers, PlannedKind};
use super::{fold, ConvertError, RewriteLog};
use crate::ir::{Activation, Graph, Op, PoolKind};

/// Each node's fate in conversion, in the graph's node order.
pub fn roles(g: &Graph) -> Result<Vec<String>, ConvertError> {
    let mut log = RewriteLog::default();
    let stripped = fold::strip_inference_noops(g, &mut log)?;
    let folded = fold::fold_batch_norm(&stripped, &mut log)?;
    let planned = plan_layers(&folded)?;
    let by_name = |graph: &Graph| -> HashMap<String, usize> {
        graph
            .nodes()
            .iter()
            .enumerate()
            .map(|(id, n)| (n.name.clone(), id))
            .collect()
    };
    let (kept, in_folded) = (by_name(&stripped), by_name(&folded));
    let kind_of: HashMap<usize, PlannedKind> = planned.iter().map(|l| (l.node, l.kind)).collect();
    let roles = g
        .nodes()
        .iter()
        .enumerate()
        .map(|(id, node)| {
            if id == 0 {
                return "analog input current".to_string();
            }
            if !kept.contains_key(&node.name) {
                return match &node.op {
                    Op::Dropout { .. } => "removed (inference needs no dropout)",
                    Op::Activation(Activation::Softmax) => "removed (argmax-invariant)",
                    Op::Activation(Activation::Relu) => "removed (repeats the ReLU before it)",
                    _ => "removed (identity)",
                }
                .to_string();
            }
            let Some(&fid) = in_folded.get(&node.name) else {
                return "folded into weights".to_string();
            };
            let fused = folded.node(fid).op.activation() == Some(Activation::Relu);
            let pool = |kind| matches!(&node.op, Op::Pool2d(p) if p.kind == kind);
            match kind_of.get(&fid) {
                Some(PlannedKind::Readout) => {
                    let softmax = node.op.activation() == Some(Activation::Softmax);
                    format!(
                        "readout (membrane potential){}",
                        if softmax { ", softmax dropped" } else { "" }
                    )
                }
                Some(PlannedKind::MaxGate) => "spike-count max gate (approximate)".into(),
                Some(PlannedKind::IntegrateAndFire) => {
                    if matches!(node.op, Op::Conv2d(_) | Op::Dense(_)) && fused {
                        "synapses + IF neurons".into()
                    } else if pool(PoolKind::Average)
                        || matches!(node.op, Op::GlobalAveragePool { .. })
                    {
                        "averaging synapses + IF neurons".into()
                    } else {
                        "IF neurons".into()
                    }
                }
                None => match &node.op {
                    Op::Conv2d(_) | Op::Dense(_) => "synapses (into the next layer)",
                    Op::Flatten => "reindexing",
                    Op::ZeroPad2d(_) => "zero-current border",
                    Op::Add => "summed currents, shared scale",
                    Op::Pool2d(_) | Op::GlobalAveragePool { .. } => "averaging synapses",
                    _ => "part of the next layer's synapses",
                }
                .into(),
            }
        })
        .collect();
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2};

    use super::*;
    use crate::ir::{BatchNorm, Dense, Shape};

    fn dense(inputs: usize, units: usize, activation: Activation) -> Op {
        Op::Dense(Dense {
            kernel: Array2::from_shape_fn((inputs, units), |(i, j)| ((i + 2 * j) % 5) as f32 * 0.1),
            bias: Some(Array1::zeros(units)),
            activation,
        })
    }

    #[test]
    fn roles_follow_what_conversion_does() {
        let mut g = Graph::new("t", "in", Shape::Vector { n: 4 });
        let a = g
            .add("fc1", dense(4, 3, Activation::Relu), vec![0])
            .unwrap();
        // Repeats fc1's fused ReLU: conversion removes it.
        let r = g
            .add("relu", Op::Activation(Activation::Relu), vec![a])
            .unwrap();
        let bn = Op::BatchNorm(BatchNorm {
            gamma: Array1::ones(3),
            beta: Array1::zeros(3),
            moving_mean: Array1::zeros(3),
            moving_variance: Array1::ones(3),
            epsilon: 0.001,
            learned: (true, true),
        });
        let b = g.add("bn", bn, vec![r]).unwrap();
        let d = g.add("drop", Op::Dropout { rate: 0.2 }, vec![b]).unwrap();
        let o = g
            .add("fc2", dense(3, 2, Activation::Softmax), vec![d])
            .unwrap();
        g.set_output(o);
        assert_eq!(
            roles(&g).unwrap(),
            [
                "analog input current",
                "synapses + IF neurons",
                "removed (repeats the ReLU before it)",
                "folded into weights",
                "removed (inference needs no dropout)",
                "readout (membrane potential), softmax dropped",
            ]
        );
    }
}
