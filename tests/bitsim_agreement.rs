//! With 32-bit weights the integer simulator is a faithful stand-in for the
//! float one: per image, the same predicted class on at least 99.9 % of the
//! committed test digits, for both bundled examples; also with burst
//! spikes (several spikes a step, through the VGG's max gates too).

mod common;

use common::example;
use ndarray::{s, Axis};
use rayon::prelude::*;
use snncc::bitsim::BitSimulator;
use snncc::ecc::{self, ConvertOptions};
use snncc::quant::{choose_formats, quantize_model, QuantOptions};
use snncc::snn::engine::Engine;
use snncc::snn::sim::Simulator;
use snncc::{data, import};

fn agreement(model: &str, n: usize, t: usize, options: ConvertOptions) -> f64 {
    let graph = import::load_model(&example(&format!("models/{model}")))
        .unwrap()
        .graph;
    let calib = data::read_images(&example("data/calib-images.npy")).unwrap();
    let images = data::read_images(&example("data/test-images.npy")).unwrap();
    let images = images.slice(s![..n, .., .., ..]);
    let snn = ecc::convert(&graph, calib.view(), options).unwrap().model;
    if options.burst == ecc::Burst::Auto {
        assert!(
            snn.layers.iter().any(|l| l.burst > 1),
            "no layer bursts at {:?}",
            options.norm
        );
    }
    let spec = choose_formats(&snn, &QuantOptions::with_bits(32, t)).unwrap();
    let q = quantize_model(&snn, &spec).unwrap().model;
    assert!(
        !snncc::bitsim::fits_i32(&q),
        "32-bit weights need 64-bit storage"
    );
    let same: usize = (0..n)
        .into_par_iter()
        .map_init(
            || (Simulator::new(&snn), BitSimulator::<i64>::new(&q)),
            |(float, int), i| {
                let image = images.index_axis(Axis(0), i);
                let a = float.run(image, &[t]).predictions[0];
                let b = int.run(image, &[t]).predictions[0];
                usize::from(a == b)
            },
        )
        .sum();
    same as f64 / n as f64
}

#[test]
fn lenet_32_bit_agrees_with_float() {
    let a = agreement("lenet.keras", 2000, 64, ConvertOptions::default());
    assert!(a >= 0.999, "agreement {a}");
}

#[test]
fn vgg_32_bit_agrees_with_float() {
    let a = agreement("vgg.keras", 1000, 64, ConvertOptions::default());
    assert!(a >= 0.999, "agreement {a}");
}

#[test]
fn vgg_32_bit_agrees_with_float_with_burst_spikes() {
    let options = ConvertOptions {
        burst: ecc::Burst::Auto,
        ..ConvertOptions::default()
    };
    let a = agreement("vgg.keras", 500, 64, options);
    assert!(a >= 0.999, "agreement {a}");
}
