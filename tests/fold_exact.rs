//! The converted network is exact in the rate limit: on random CNNs with
//! BatchNormalization before or after the ReLU, every padding (`same`,
//! `valid`, an explicit ZeroPadding2D), strides and pooling between, the
//! rate limit of `ecc::convert`'s network (what `snncc eval NET/` computes)
//! gives the CNN's logits to float precision. The scales are the maxima of
//! the images themselves, so no rate is clipped at 1, or a percentile (the
//! default p99.9, and p90) with burst spikes (`--burst auto`), which let a
//! neuron fire as often a step as the images' largest activation needs:
//! any difference is the conversion's, in particular a BN folded forward
//! whose shift a zero padding must not receive (docs/ecc.md), a global
//! average folded into the Dense after it, or a burst too short.

mod common;

use common::Lcg as Rng;
use ndarray::{Array1, Array2, Array4};
use proptest::prelude::*;
use snncc::ecc::{convert, Burst, ConvertOptions, Norm};
use snncc::ir::{
    Activation, BatchNorm, Conv2d, Dense, Graph, NodeId, Op, Pad, Padding, Pool2d, PoolKind, Shape,
    Window,
};

#[derive(Debug, Clone, Copy)]
enum BnAt {
    None,
    BeforeRelu,
    AfterRelu,
}

fn bn(rng: &mut Rng, c: usize) -> Op {
    let mut draw = |lo: f32, hi: f32| Array1::from_shape_fn(c, |_| lo + (hi - lo) * rng.unit());
    Op::BatchNorm(BatchNorm {
        gamma: draw(0.5, 1.5),
        beta: draw(-0.5, 0.5),
        moving_mean: draw(-0.5, 0.5),
        moving_variance: draw(0.5, 2.0),
        epsilon: 0.001,
        learned: (true, true),
    })
}

fn conv(rng: &mut Rng, cin: usize, cout: usize, stride: usize, padding: Padding) -> Op {
    Op::Conv2d(Conv2d {
        kernel: Array4::from_shape_fn((3, 3, cin, cout), |_| rng.unit() * 0.8 - 0.35),
        bias: Some(Array1::from_shape_fn(cout, |_| rng.unit() * 0.2 - 0.1)),
        bias_map: None,
        window: Window {
            size: (3, 3),
            strides: (stride, stride),
            padding,
        },
        activation: Activation::Linear,
    })
}

/// `conv` (linear) then a ReLU with the BN where `at` says.
fn conv_block(
    g: &mut Graph,
    rng: &mut Rng,
    src: NodeId,
    conv_op: Op,
    at: BnAt,
    name: &str,
) -> NodeId {
    let cout = match &conv_op {
        Op::Conv2d(c) => c.kernel.dim().3,
        _ => unreachable!(),
    };
    let c = g.add(name, conv_op, vec![src]).unwrap();
    let relu = |g: &mut Graph, src| {
        g.add(
            format!("{name}_relu"),
            Op::Activation(Activation::Relu),
            vec![src],
        )
        .unwrap()
    };
    match at {
        BnAt::None => relu(g, c),
        BnAt::BeforeRelu => {
            let b = g.add(format!("{name}_bn"), bn(rng, cout), vec![c]).unwrap();
            relu(g, b)
        }
        BnAt::AfterRelu => {
            let r = relu(g, c);
            g.add(format!("{name}_bn"), bn(rng, cout), vec![r]).unwrap()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn model(
    seed: u64,
    pad1: Padding,
    bn1: BnAt,
    pool: Option<(PoolKind, Padding)>,
    zero_pad: usize,
    pad2: Padding,
    stride2: usize,
    bn2: BnAt,
) -> Graph {
    let mut rng = Rng(seed);
    let mut g = Graph::new("random", "in", Shape::Map { h: 9, w: 9, c: 2 });
    let c1 = conv(&mut rng, 2, 3, 1, pad1);
    let mut x = conv_block(&mut g, &mut rng, 0, c1, bn1, "conv1");
    if let Some((kind, padding)) = pool {
        let window = Window {
            size: (2, 2),
            strides: (2, 2),
            padding,
        };
        x = g
            .add("pool", Op::Pool2d(Pool2d { kind, window }), vec![x])
            .unwrap();
    }
    if zero_pad > 0 {
        let p = Pad {
            top: zero_pad,
            bottom: 1,
            left: 1,
            right: zero_pad,
        };
        x = g.add("zero_pad", Op::ZeroPad2d(p), vec![x]).unwrap();
    }
    let c2 = conv(&mut rng, 3, 4, stride2, pad2);
    x = conv_block(&mut g, &mut rng, x, c2, bn2, "conv2");
    // The head reads the map flattened or through a global average (which
    // conversion folds into the Dense's synapses).
    let f = if seed % 2 == 0 {
        g.add("flatten", Op::Flatten, vec![x]).unwrap()
    } else {
        g.add("gap", Op::GlobalAveragePool { keepdims: false }, vec![x])
            .unwrap()
    };
    let n = g.node(f).shape.len();
    let dense = Op::Dense(Dense {
        kernel: Array2::from_shape_fn((n, 5), |_| rng.unit() * 0.6 - 0.3),
        bias: Some(Array1::from_shape_fn(5, |_| rng.unit() * 0.2 - 0.1)),
        activation: Activation::Linear,
    });
    g.add("out", dense, vec![f]).unwrap();
    g
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![Just(Padding::Same), Just(Padding::Valid)]
}

fn bn_at() -> impl Strategy<Value = BnAt> {
    prop_oneof![
        Just(BnAt::None),
        Just(BnAt::BeforeRelu),
        Just(BnAt::AfterRelu)
    ]
}

fn pooling() -> impl Strategy<Value = Option<(PoolKind, Padding)>> {
    prop_oneof![
        Just(None),
        padding().prop_map(|p| Some((PoolKind::Average, p))),
        padding().prop_map(|p| Some((PoolKind::Max, p))),
    ]
}

/// Scales that clip nothing: the maxima, or a percentile with bursts.
fn scaling() -> impl Strategy<Value = (Norm, Burst)> {
    prop_oneof![
        Just((Norm::Max, Burst::Fixed(1))),
        Just((Norm::Percentile(99.9), Burst::Auto)),
        Just((Norm::Percentile(90.0), Burst::Auto)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn the_rate_limit_of_a_converted_cnn_is_the_cnn(
        seed in any::<u64>(),
        pad1 in padding(),
        bn1 in bn_at(),
        pool in pooling(),
        zero_pad in 0usize..3,
        pad2 in padding(),
        stride2 in 1usize..3,
        bn2 in bn_at(),
        (norm, burst) in scaling(),
    ) {
        let g = model(seed, pad1, bn1, pool, zero_pad, pad2, stride2, bn2);
        let mut rng = Rng(seed ^ 0x5eed);
        let images = ndarray::Array4::from_shape_fn((6, 9, 9, 2), |_| rng.unit());
        let options = ConvertOptions { norm, burst, ..ConvertOptions::default() };
        let net = convert(&g, images.view(), options).unwrap();
        prop_assert!(net.log.warnings.iter().all(|w| !w.contains("burst")), "{:?}", net.log.warnings);
        for i in 0..images.dim().0 {
            let x = images.index_axis(ndarray::Axis(0), i);
            let cnn = snncc::reference::run(&g, x);
            let snn = snncc::snn::rates::rate_limit_outputs(&net.model, x);
            let scale = cnn.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
            for (a, b) in cnn.iter().zip(&snn) {
                prop_assert!(
                    (a - b).abs() <= 1e-4 * scale,
                    "image {i}: CNN {cnn:?} vs rate limit {snn:?} ({:?})",
                    net.log.changes
                );
            }
        }
    }
}
