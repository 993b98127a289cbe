//! A VGG16-shaped CIFAR-10 network (32x32x3 input, 13 Conv2D + 3 Dense,
//! BatchNormalization after every convolution, max pooling) with seeded
//! random weights: a load test for conversion and simulation, not a model
//! anyone would deploy. Shared by `examples/vgg16_cifar.rs` and
//! `benches/simulate.rs`.

use ndarray::{Array1, Array2, Array4};
use snncc::ir::{
    Activation, BatchNorm, Conv2d, Dense, Graph, Op, Padding, Pool2d, PoolKind, Shape, Window,
};

/// SplitMix64: a tiny, well-known generator, so the network is the same on
/// every machine without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// The network: [64,64,M, 128,128,M, 256x3,M, 512x3,M, 512x3,M] convs
/// (3x3, same, no bias, then BN and ReLU), then Dense 512-512-10.
pub fn vgg16_cifar(seed: u64) -> Graph {
    let mut rng = Rng::new(seed);
    let mut g = Graph::new("vgg16_cifar", "input", Shape::Map { h: 32, w: 32, c: 3 });
    let mut last = 0;
    let mut cin = 3;
    let plan: [&[usize]; 5] = [
        &[64, 64],
        &[128, 128],
        &[256, 256, 256],
        &[512, 512, 512],
        &[512, 512, 512],
    ];
    let mut n = 0;
    for (block, widths) in plan.iter().enumerate() {
        for &cout in widths.iter() {
            n += 1;
            // He initialisation keeps activations alive through 13 layers.
            let std = (2.0 / (9 * cin) as f32).sqrt();
            let kernel = Array4::from_shape_simple_fn((3, 3, cin, cout), || std * rng.normal());
            let conv = Op::Conv2d(Conv2d {
                kernel,
                bias: None,
                bias_map: None,
                window: Window {
                    size: (3, 3),
                    strides: (1, 1),
                    padding: Padding::Same,
                },
                activation: Activation::Linear,
            });
            last = g
                .add(format!("conv{n}"), conv, vec![last])
                .expect("valid conv");
            let bn = Op::BatchNorm(BatchNorm {
                gamma: Array1::from_shape_simple_fn(cout, || 0.8 + 0.4 * rng.uniform()),
                beta: Array1::from_shape_simple_fn(cout, || 0.1 * rng.normal()),
                moving_mean: Array1::from_shape_simple_fn(cout, || 0.1 * rng.normal()),
                moving_variance: Array1::from_shape_simple_fn(cout, || 0.5 + rng.uniform()),
                epsilon: 0.001,
                learned: (true, true),
            });
            last = g.add(format!("bn{n}"), bn, vec![last]).expect("valid bn");
            last = g
                .add(
                    format!("relu{n}"),
                    Op::Activation(Activation::Relu),
                    vec![last],
                )
                .expect("valid relu");
            cin = cout;
        }
        let pool = Op::Pool2d(Pool2d {
            kind: PoolKind::Max,
            window: Window {
                size: (2, 2),
                strides: (2, 2),
                padding: Padding::Valid,
            },
        });
        last = g
            .add(format!("pool{}", block + 1), pool, vec![last])
            .expect("valid pool");
    }
    last = g
        .add("flatten", Op::Flatten, vec![last])
        .expect("valid flatten");
    for (i, (inputs, units)) in [(512, 512), (512, 512), (512, 10)].into_iter().enumerate() {
        let std = (2.0 / inputs as f32).sqrt();
        let dense = Op::Dense(Dense {
            kernel: Array2::from_shape_simple_fn((inputs, units), || std * rng.normal()),
            bias: Some(Array1::from_shape_simple_fn(units, || 0.01 * rng.normal())),
            activation: if i < 2 {
                Activation::Relu
            } else {
                Activation::Linear
            },
        });
        last = g
            .add(format!("fc{}", i + 1), dense, vec![last])
            .expect("valid dense");
    }
    g
}

/// `n` random 32x32x3 images in [0, 1).
pub fn random_images(n: usize, seed: u64) -> ndarray::Array4<f32> {
    let mut rng = Rng::new(seed);
    ndarray::Array4::from_shape_simple_fn((n, 32, 32, 3), || rng.uniform())
}
