//! The integer simulator against a slow reference written independently
//! from docs/fixed-point.md: plain loops over every synapse, 128-bit
//! arithmetic, no routing tables. Random small networks (conv with stride
//! and padding, average pooling, dense, readout), random weights, random
//! weight widths and overflow policies; every layer's spikes and raw
//! membrane values must agree at every step. With automatic formats no
//! overflow event may ever happen.

use ndarray::{Array2, Array3, Array4};
use proptest::prelude::*;
use snncc::bitsim::trace_quantized;
use snncc::ir::{Pad, Shape};
use snncc::quant::{
    choose_formats, quantize_model, Overflow, QLayerKind, QNeurons, QSynapses, QuantModel,
    QuantOptions, Rounding,
};
use snncc::snn::{
    Bias, Connection, InitialFraction, Neurons, Potentials, SnnLayer, SnnModel, Source, Synapses,
};

/// A random network: input 6x6x2 -> conv -> IF -> avgpool 2x2 -> IF ->
/// dense -> readout.
fn network(
    conv: Vec<f32>,
    cout: usize,
    stride: usize,
    pad: usize,
    dense: Vec<f32>,
    bias: Vec<f32>,
) -> SnnModel {
    let out = (6 + 2 * pad - 3) / stride + 1;
    let pooled = out / 2;
    let layer = |name: &str, shape, neurons, inputs, bias| SnnLayer {
        name: name.into(),
        shape,
        neurons,
        inputs,
        gate_source: None,
        bias,
        lambda: vec![1.0; Shape::channels(&shape)],
        burst: 1,
    };
    let flat = pooled * pooled * cout;
    SnnModel {
        name: "random".into(),
        input_shape: Shape::Map { h: 6, w: 6, c: 2 },
        layers: vec![
            layer(
                "conv",
                Shape::Map {
                    h: out,
                    w: out,
                    c: cout,
                },
                Neurons::IntegrateAndFire { threshold: 1.0 },
                vec![Connection {
                    source: Source::Input,
                    synapses: Synapses::Conv {
                        kernel: Array4::from_shape_vec((3, 3, 2, cout), conv).unwrap(),
                        strides: (stride, stride),
                        pad: Pad {
                            top: pad,
                            bottom: pad,
                            left: pad,
                            right: pad,
                        },
                    },
                }],
                // A bias per neuron (as a BN folded through zero padding
                // gives) when the draw's first bias is negative.
                Some(if bias[0] < 0.0 {
                    Bias::Neuron(
                        (0..out * out * cout)
                            .map(|i| bias[i % cout] + (i % 3) as f32 * 0.05)
                            .collect(),
                    )
                } else {
                    Bias::Channel(bias[..cout].to_vec())
                }),
            ),
            layer(
                "pool",
                Shape::Map {
                    h: pooled,
                    w: pooled,
                    c: cout,
                },
                Neurons::IntegrateAndFire { threshold: 1.0 },
                vec![Connection {
                    source: Source::Layer(0),
                    synapses: Synapses::AvgPool {
                        size: (2, 2),
                        strides: (2, 2),
                        pad: Pad {
                            top: 0,
                            bottom: 0,
                            left: 0,
                            right: 0,
                        },
                        scale: vec![1.3; cout],
                    },
                }],
                None,
            ),
            layer(
                "fc",
                Shape::Vector { n: 3 },
                Neurons::Readout,
                vec![Connection {
                    source: Source::Layer(1),
                    synapses: Synapses::Dense {
                        kernel: Array2::from_shape_vec((flat, 3), dense[..flat * 3].to_vec())
                            .unwrap(),
                    },
                }],
                Some(Bias::Channel(bias[..3].to_vec())),
            ),
        ],
        h: 0.5,
        // The conv layer's channels start at different fractions (as
        // per-channel calibration chooses them), the others at h.
        h_layers: Some(vec![
            InitialFraction::Channels((0..cout).map(|k| [0.5, -0.6, 0.9, 0.0][k % 4]).collect()),
            InitialFraction::Layer(0.5),
            InitialFraction::Layer(0.5),
        ]),
        cnn_macs: 0,
        burst_after: 0,
        input_range: Some([0.0, 1.0]),
    }
}

/// `fit` written again from §2.2.
fn fit(x: i128, bits: u32, overflow: Overflow) -> (i128, bool) {
    let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
    if x >= lo && x <= hi {
        return (x, false);
    }
    let m = 1i128 << bits;
    let v = match overflow {
        Overflow::Saturate => x.clamp(lo, hi),
        Overflow::Wrap => ((x - lo) % m + m) % m + lo,
    };
    (v, true)
}

/// Per layer, per step: which neurons fired.
type SpikeLog = Vec<Vec<Vec<bool>>>;
/// Per layer, per step (initial state first): the membrane values.
type PotentialLog = Vec<Vec<Vec<i128>>>;

/// Spikes and potentials of every layer and step, and the overflow events,
/// from plain loops.
fn reference(q: &QuantModel, image: &Array3<f32>, steps: usize) -> (SpikeLog, PotentialLog, u64) {
    let scale = q.input.scale * 2f64.powi(q.input.format.frac() as i32);
    let x: Vec<i128> = image
        .iter()
        .map(|&v| {
            let r = (f64::from(v) * scale).round_ties_even();
            fit(r as i128, q.input.format.bits(), q.overflow).0
        })
        .collect();
    let n_layers = q.layers.len();
    let sizes: Vec<usize> = q.layers.iter().map(|l| l.shape.len()).collect();
    let mut v: Vec<Vec<i128>> = Vec::new();
    for l in &q.layers {
        let QLayerKind::Neurons(n) = &l.kind else {
            unreachable!()
        };
        // Channels last: neuron i starts at its channel's V0.
        let c = l.shape.channels();
        v.push(
            (0..l.shape.len())
                .map(|i| i128::from(n.v0_at(i % c)))
                .collect(),
        );
    }
    let mut spikes_log = vec![Vec::new(); n_layers];
    let mut v_log: Vec<Vec<Vec<i128>>> = v.iter().map(|v| vec![v.clone()]).collect();
    let mut fired: Vec<Vec<bool>> = sizes.iter().map(|&s| vec![false; s]).collect();
    let mut events = 0u64;
    for _ in 0..steps {
        for li in 0..n_layers {
            let l = &q.layers[li];
            let QLayerKind::Neurons(n) = &l.kind else {
                unreachable!()
            };
            let dims = l.shape.dims();
            let m = n.formats.membrane.frac();
            let shift_w = m - n.formats.weights.frac();
            let mut current = vec![0i128; l.shape.len()];
            for (i, c) in current.iter_mut().enumerate() {
                if let Some(b) = &n.bias {
                    let raw = b.at(i, dims[dims.len() - 1]);
                    *c += i128::from(raw) << (m - n.formats.bias.frac());
                }
            }
            for conn in &n.inputs {
                match &conn.synapses {
                    QSynapses::Conv {
                        kernel,
                        strides,
                        pad,
                    } => {
                        // Analog input: products, then the shift.
                        let (kh, kw, cin, cout) = kernel.dim();
                        let shift = m - n.formats.weights.frac() - q.input.format.frac();
                        for oy in 0..dims[0] {
                            for ox in 0..dims[1] {
                                for co in 0..cout {
                                    let mut acc = 0i128;
                                    for ky in 0..kh {
                                        for kx in 0..kw {
                                            let iy = (oy * strides.0 + ky) as i64 - pad.top as i64;
                                            let ix = (ox * strides.1 + kx) as i64 - pad.left as i64;
                                            if !(0..6).contains(&iy) || !(0..6).contains(&ix) {
                                                continue;
                                            }
                                            for ci in 0..cin {
                                                let xi = x[((iy * 6 + ix) as usize) * cin + ci];
                                                acc += i128::from(kernel[[ky, kx, ci, co]]) * xi;
                                            }
                                        }
                                    }
                                    current[(oy * dims[1] + ox) * cout + co] += acc << shift;
                                }
                            }
                        }
                    }
                    QSynapses::AvgPool { weights, .. } => {
                        let Source::Layer(s) = conn.source else {
                            unreachable!()
                        };
                        let sd = q.layers[s].shape.dims();
                        for oy in 0..dims[0] {
                            for ox in 0..dims[1] {
                                for c in 0..dims[2] {
                                    for ky in 0..2 {
                                        for kx in 0..2 {
                                            let (iy, ix) = (oy * 2 + ky, ox * 2 + kx);
                                            if fired[s][(iy * sd[1] + ix) * sd[2] + c] {
                                                current[(oy * dims[1] + ox) * dims[2] + c] +=
                                                    i128::from(weights[[3, c]]) << shift_w;
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    QSynapses::Dense { kernel } => {
                        let Source::Layer(s) = conn.source else {
                            unreachable!()
                        };
                        for (i, &f) in fired[s].iter().enumerate() {
                            if f {
                                for u in 0..kernel.dim().1 {
                                    current[u] += i128::from(kernel[[i, u]]) << shift_w;
                                }
                            }
                        }
                    }
                    _ => unreachable!("not generated"),
                }
            }
            let bits = n.formats.membrane.bits();
            let mut now = vec![false; l.shape.len()];
            for (i, c) in current.iter().enumerate() {
                let (x, over) = fit(v[li][i] + c, bits, q.overflow);
                events += u64::from(over);
                v[li][i] = x;
                if let QNeurons::IntegrateAndFire { threshold } = n.neurons {
                    let theta = i128::from(threshold) << (m - n.formats.threshold.frac());
                    if x >= theta {
                        v[li][i] = x - theta;
                        now[i] = true;
                    }
                }
            }
            fired[li] = now.clone();
            spikes_log[li].push(now);
            v_log[li].push(v[li].clone());
        }
    }
    (spikes_log, v_log, events)
}

fn weights(n: usize) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, n)
}

/// The simulator's trace against the reference's; returns the spikes
/// compared.
fn compare(
    q: &QuantModel,
    image: &Array3<f32>,
    steps: usize,
    spikes: &SpikeLog,
    potentials: &PotentialLog,
) -> Result<usize, TestCaseError> {
    let trace = trace_quantized(q, image.view(), steps);
    let mut compared = 0;
    for (li, layer) in trace.layers.iter().enumerate() {
        for (t, fired) in layer.spikes.iter().enumerate() {
            let expect: Vec<u32> = spikes[li][t]
                .iter()
                .enumerate()
                .filter(|(_, &f)| f)
                .map(|(i, _)| i as u32)
                .collect();
            prop_assert_eq!(fired, &expect, "layer {} step {}", li, t + 1);
            compared += expect.len();
        }
        let Potentials::Int { values, .. } = &layer.potentials else {
            panic!("integer trace")
        };
        let expect: Vec<i64> = potentials[li].iter().flatten().map(|&v| v as i64).collect();
        prop_assert_eq!(values, &expect, "layer {} potentials", li);
    }
    Ok(compared)
}

/// One case; returns the spikes compared and the overflow events of the
/// narrowed formats (so a fixed case can show the test is not vacuous).
#[allow(clippy::too_many_arguments)]
fn check(
    cout: usize,
    stride: usize,
    pad: usize,
    conv: Vec<f32>,
    dense: Vec<f32>,
    bias: Vec<f32>,
    pixels: Vec<f32>,
    bits: u32,
    steps: usize,
    wrap: bool,
    narrow_membrane: u32,
) -> Result<(usize, u64), TestCaseError> {
    let conv = conv[..3 * 3 * 2 * cout].to_vec();
    let model = network(conv, cout, stride, pad, dense, bias);
    let image = Array3::from_shape_vec((6, 6, 2), pixels).unwrap();
    let mut options = QuantOptions::with_bits(bits, steps);
    options.rounding = Rounding::NearestEven;
    let mut spec = choose_formats(&model, &options).unwrap();
    // Automatic formats: proven, so no overflow event (and the simulator
    // skips its range checks: it must still agree).
    let q = quantize_model(&model, &spec).unwrap().model;
    let (spikes, potentials, events) = reference(&q, &image, steps);
    prop_assert_eq!(events, 0, "automatic formats overflowed");
    compare(&q, &image, steps, &spikes, &potentials)?;
    // Now narrow the membranes (overflow likely) and pick the policy.
    spec.overflow = if wrap {
        Overflow::Wrap
    } else {
        Overflow::Saturate
    };
    for l in &mut spec.layers {
        let m = l.formats.membrane;
        let bits = m
            .bits()
            .saturating_sub(narrow_membrane)
            .max(m.frac())
            .max(2);
        l.formats.membrane = snncc::quant::QFormat::new(bits, m.frac().min(bits)).unwrap();
    }
    let Ok(quantized) = quantize_model(&model, &spec) else {
        return Ok((0, 0));
    };
    let q = quantized.model;
    let (spikes, potentials, events) = reference(&q, &image, steps);
    let compared = compare(&q, &image, steps, &spikes, &potentials)?;
    Ok((compared, events))
}

#[test]
fn a_fixed_case_has_spikes_and_overflows() {
    let w = |n: usize, k: f32| {
        (0..n)
            .map(|i| ((i * 7 % 13) as f32 / 6.0 - 0.9) * k)
            .collect()
    };
    let pixels = (0..72).map(|i| (i % 9) as f32 / 8.0).collect();
    let (spikes, _) = check(
        4,
        1,
        1,
        w(72, 1.0),
        w(108, 1.0),
        vec![0.1; 4],
        pixels,
        8,
        20,
        false,
        0,
    )
    .unwrap();
    assert!(spikes > 20, "only {spikes} spikes compared");
    let pixels = (0..72).map(|i| (i % 9) as f32 / 8.0).collect();
    let (_, events) = check(
        4,
        1,
        1,
        w(72, 1.0),
        w(108, 1.0),
        vec![0.1; 4],
        pixels,
        8,
        20,
        true,
        5,
    )
    .unwrap();
    assert!(events > 0, "narrowed membranes should overflow");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn integer_simulator_matches_the_slow_reference(
        cout in 2usize..5,
        stride in 1usize..3,
        pad in 0usize..2,
        conv in weights(3 * 3 * 2 * 4),
        dense in weights(3 * 3 * 4 * 3),
        bias in prop::collection::vec(-0.3f32..0.3, 4),
        pixels in prop::collection::vec(0.0f32..1.0, 72),
        bits in 3u32..12,
        steps in 1usize..24,
        wrap in any::<bool>(),
        narrow_membrane in 0u32..6,
    ) {
        check(cout, stride, pad, conv, dense, bias, pixels, bits, steps, wrap, narrow_membrane)?;
    }
}
