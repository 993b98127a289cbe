//! End to end for networks of dense layers: a random MLP (analog-input
//! dense layer, a spiking dense layer, a readout) is quantised with
//! automatic formats, rendered to Verilog with its memory images and a
//! self-checking testbench, and run under Icarus Verilog and Verilator; the
//! readout potentials of every image after T steps must equal the
//! bit-accurate simulator's, for saturation and for wrap-around.

mod common;

use common::{mlp, simulate_both, Lcg};
use ndarray::Array3;
use snncc::bitsim::trace_quantized;
use snncc::codegen::{design, write_design, write_testbench};
use snncc::quant::{choose_formats, quantize_model, Overflow, QuantOptions};
use snncc::snn::Potentials;

fn cosim(overflow: Overflow, narrow_membranes: bool, seed: u64) {
    let mut rng = Lcg(seed);
    let model = mlp(&mut rng);
    let steps = 12;
    let mut options = QuantOptions::with_bits(6, steps);
    options.overflow = overflow;
    let mut spec = choose_formats(&model, &options).unwrap();
    if narrow_membranes {
        for l in &mut spec.layers {
            let m = l.formats.membrane;
            l.formats.membrane = snncc::quant::QFormat::new(m.bits() - 3, m.frac()).unwrap();
        }
    }
    let q = quantize_model(&model, &spec).unwrap().model;
    let images: Vec<Array3<f32>> = (0..6)
        .map(|_| Array3::from_shape_fn((2, 3, 2), |_| rng.unit()))
        .collect();
    let inputs: Vec<Vec<i64>> = images
        .iter()
        .map(|x| {
            x.iter()
                .map(|&v| q.input.raw(v, q.rounding, q.overflow).0)
                .collect()
        })
        .collect();
    let mut hidden_spikes = 0;
    let expected: Vec<Vec<i64>> = images
        .iter()
        .map(|x| {
            let trace = trace_quantized(&q, x.view(), steps);
            hidden_spikes += trace.layers[1].spikes.iter().map(Vec::len).sum::<usize>();
            let last = trace.layers.last().unwrap();
            let Potentials::Int { values, .. } = &last.potentials else {
                panic!("integer")
            };
            values[values.len() - last.neurons..].to_vec()
        })
        .collect();
    assert!(
        hidden_spikes > 20,
        "the hidden layer must spike ({hidden_spikes})"
    );
    let d = design(&q, steps).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rtl = write_design(&d, dir.path()).unwrap();
    let tb = write_testbench(&d, dir.path(), &inputs, &expected).unwrap();
    simulate_both(dir.path(), &tb, &rtl, "COSIM PASS 6");
}

#[test]
fn random_mlp_is_bit_exact_in_both_simulators() {
    cosim(Overflow::Saturate, false, 1);
}

#[test]
fn random_mlp_with_narrow_membranes_is_bit_exact_when_saturating_and_wrapping() {
    cosim(Overflow::Saturate, true, 2);
    cosim(Overflow::Wrap, true, 3);
}

#[test]
fn a_wrong_expectation_fails_the_testbench() {
    let mut rng = Lcg(4);
    let model = mlp(&mut rng);
    let q = quantize_model(
        &model,
        &choose_formats(&model, &QuantOptions::with_bits(6, 4)).unwrap(),
    )
    .unwrap()
    .model;
    let image = Array3::from_shape_fn((2, 3, 2), |_| rng.unit());
    let inputs = vec![image
        .iter()
        .map(|&v| q.input.raw(v, q.rounding, q.overflow).0)
        .collect()];
    let trace = trace_quantized(&q, image.view(), 4);
    let Potentials::Int { values, .. } = &trace.layers[2].potentials else {
        panic!("integer")
    };
    let mut expected = values[values.len() - 4..].to_vec();
    expected[2] += 1;
    let d = design(&q, 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rtl = write_design(&d, dir.path()).unwrap();
    let tb = write_testbench(&d, dir.path(), &inputs, &[expected]).unwrap();
    let sim = dir.path().join("tb.vvp");
    common::run_tool(
        std::process::Command::new("iverilog")
            .args(["-g2005", "-s", "tb", "-o"])
            .arg(&sim)
            .arg(&tb)
            .args(&rtl),
    );
    let out = std::process::Command::new("vvp")
        .arg("-n")
        .arg(&sim)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MISMATCH image 0 neuron 2"), "{text}");
    assert!(!text.contains("COSIM PASS"), "{text}");
}
