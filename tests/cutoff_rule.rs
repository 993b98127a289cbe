//! The early cutoff (docs/fixed-point.md §4.6) in both simulators equals
//! running the full trace and applying the rule step by step, written here
//! independently: on random MLPs and CNNs (potential and spike-count
//! read-outs), random weight widths, lengths and images, with margins at,
//! just below and just above a lead that actually occurs, so the
//! "reached exactly" boundary is hit.

mod common;

use common::{cnn, mlp, Lcg};
use ndarray::Array3;
use proptest::prelude::*;
use snncc::bitsim::{readout_run, readout_run_cutoff, trace_quantized, trace_quantized_cutoff};
use snncc::quant::{choose_formats, quantize_model, QLayerKind, QNeurons, QuantOptions};
use snncc::snn::sim::{readout_run_cutoff as float_readout_run_cutoff, trace_cutoff};
use snncc::snn::{Neurons, Potentials, SnnModel, SpikeTrace};

/// The rule, independently: sort a copy; the class is the first index of
/// the largest value; the margin is the largest minus the second largest
/// of the sorted copy (equal when tied). `None` below 2 values.
fn oracle<T: Copy + PartialOrd>(v: &[T]) -> Option<(usize, T, T)> {
    if v.len() < 2 {
        return None;
    }
    let mut sorted = v.to_vec();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let class = v.iter().position(|x| *x == sorted[0]).unwrap();
    Some((class, sorted[0], sorted[1]))
}

/// The read-out values after every step 1..=T of a full trace: the last
/// layer's potentials, or its running spike counts.
fn readouts<T: Copy>(
    trace: &SpikeTrace,
    counts: bool,
    potentials: impl Fn(&Potentials) -> Vec<T>,
    from_count: impl Fn(u32) -> T,
) -> Vec<Vec<T>> {
    let last = trace.layers.last().unwrap();
    let n = last.neurons;
    if counts {
        let mut c = vec![0u32; n];
        last.spikes
            .iter()
            .map(|fired| {
                for &i in fired {
                    c[i as usize] += 1;
                }
                c.iter().map(|&k| from_count(k)).collect()
            })
            .collect()
    } else {
        let all = potentials(&last.potentials);
        // Row 0 is the initial state.
        (1..=trace.timesteps)
            .map(|t| all[t * n..(t + 1) * n].to_vec())
            .collect()
    }
}

/// The trace truncated to its first `steps` steps.
fn truncated(trace: &SpikeTrace, steps: usize) -> SpikeTrace {
    let mut t = trace.clone();
    t.timesteps = steps;
    for l in &mut t.layers {
        l.spikes.truncate(steps);
        let rows = (steps + 1) * l.neurons;
        match &mut l.potentials {
            Potentials::Int { values, .. } => values.truncate(rows),
            Potentials::Float(values) => values.truncate(rows),
            Potentials::None => {}
        }
    }
    t
}

fn model(seed: u64) -> SnnModel {
    let mut rng = Lcg(seed);
    if seed % 3 == 0 {
        mlp(&mut rng)
    } else {
        cnn(&mut rng)
    }
}

fn image(model: &SnnModel, seed: u64) -> Array3<f32> {
    let mut rng = Lcg(seed ^ 0x5eed);
    let shape = match model.input_shape {
        snncc::ir::Shape::Map { h, w, c } => (h, w, c),
        snncc::ir::Shape::Vector { n } => (1, 1, n),
    };
    Array3::from_shape_fn(shape, |_| rng.unit())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn bit_accurate_cutoff_is_the_rule_applied_to_the_full_trace(
        seed in 0u64..1000,
        bits in 4u32..=8,
        steps in 1usize..=24,
        pick in 0usize..24,
        delta in -1i64..=1,
    ) {
        let m = model(seed);
        let q = quantize_model(&m, &choose_formats(&m, &QuantOptions::with_bits(bits, steps)).unwrap())
            .unwrap()
            .model;
        let counts = match &q.layers.last().unwrap().kind {
            QLayerKind::Neurons(n) => matches!(n.neurons, QNeurons::SpikeCountReadout { .. }),
            QLayerKind::MaxGate { .. } => unreachable!("the last layer reads out"),
        };
        let x = image(&m, seed);
        let full = trace_quantized(&q, x.view(), steps);
        let values = readouts(
            &full,
            counts,
            |p| match p {
                Potentials::Int { values, .. } => values.clone(),
                _ => panic!("integer trace"),
            },
            i64::from,
        );
        let leads: Vec<(usize, i64)> = values
            .iter()
            .map(|v| oracle(v).map(|(c, a, b)| (c, a - b)).unwrap())
            .collect();
        // A margin that occurs (at a random step), or one unit either side.
        let margin = (leads[pick % steps].1 + delta).max(1);
        let stop = leads.iter().position(|l| l.1 >= margin).map_or(steps, |i| i + 1);

        let (got, got_steps, run) = readout_run_cutoff(&q, x.view(), steps, Some(margin));
        prop_assert_eq!(got_steps, stop);
        prop_assert_eq!(&got, &values[stop - 1]);
        prop_assert_eq!(run.predictions[0], leads[stop - 1].0);
        let cut = trace_quantized_cutoff(&q, x.view(), steps, Some(margin));
        prop_assert_eq!(cut, truncated(&full, stop));
        // Without a margin: the full run, as before.
        let (plain, plain_steps, _) = readout_run_cutoff(&q, x.view(), steps, None);
        prop_assert_eq!(plain_steps, steps);
        prop_assert_eq!(&plain, &readout_run(&q, x.view(), steps).0);
        prop_assert_eq!(&plain, &values[steps - 1]);
    }

    #[test]
    fn float_cutoff_is_the_rule_applied_to_the_full_trace(
        seed in 0u64..1000,
        steps in 1usize..=24,
        pick in 0usize..24,
        nudge in prop::sample::select(vec![-1.0f64, 0.0, 1.0]),
    ) {
        let m = model(seed);
        let counts = matches!(m.layers.last().unwrap().neurons, Neurons::SpikeCountReadout { .. });
        let x = image(&m, seed);
        let full = trace_cutoff(&m, x.view(), steps, None);
        let values = readouts(
            &full,
            counts,
            |p| match p {
                Potentials::Float(values) => values.clone(),
                _ => panic!("float trace"),
            },
            |c| c as f32,
        );
        let leads: Vec<(usize, f64)> = values
            .iter()
            .map(|v| oracle(v).map(|(c, a, b)| (c, f64::from(a) - f64::from(b))).unwrap())
            .collect();
        // A lead that occurs, or a hair either side of it.
        let at = leads[pick % steps].1;
        let margin = if at > 0.0 { at * (1.0 + nudge * 1e-9) } else { 0.25 };
        let stop = leads.iter().position(|l| l.1 >= margin).map_or(steps, |i| i + 1);

        let (got, got_steps, run) = float_readout_run_cutoff(&m, x.view(), steps, Some(margin));
        prop_assert_eq!(got_steps, stop);
        prop_assert_eq!(&got, &values[stop - 1]);
        prop_assert_eq!(run.predictions[0], leads[stop - 1].0);
        prop_assert_eq!(trace_cutoff(&m, x.view(), steps, Some(margin)), truncated(&full, stop));
    }
}

/// With several requested lengths, a stopped image answers every longer one
/// as it stood when it stopped; shorter ones are unaffected.
#[test]
fn a_stopped_image_answers_every_longer_length_as_it_stopped() {
    use snncc::snn::cutoff::Watch;
    use snncc::snn::engine::Engine;
    for seed in 1..40u64 {
        let m = model(seed);
        let x = image(&m, seed);
        let q = quantize_model(
            &m,
            &choose_formats(&m, &QuantOptions::with_bits(8, 32)).unwrap(),
        )
        .unwrap()
        .model;
        let mut sim = snncc::bitsim::engine(&q);
        let mut leads = Vec::new();
        let full = sim.run_watched(
            x.view(),
            &[4, 8, 32],
            Watch {
                cutoff: None,
                leads: Some(&mut leads),
            },
        );
        assert_eq!(leads.len(), 32);
        assert_eq!(full.steps, vec![4, 8, 32]);
        let Some(l) = leads.get(5).filter(|l| l.margin > 0) else {
            continue;
        };
        // Stops at step 6 at the latest, so T=4 is a full run and T=8 and
        // T=32 both hold the stopped answer.
        let stop = leads.iter().position(|k| k.margin >= l.margin).unwrap() + 1;
        let cut = sim.run_watched(x.view(), &[4, 8, 32], Watch::stop(Some(l.margin)));
        let s4 = stop.min(4);
        assert_eq!(cut.steps, vec![s4, stop, stop]);
        assert_eq!(cut.predictions[1], leads[stop - 1].class);
        assert_eq!(cut.predictions[2], cut.predictions[1]);
        assert_eq!(cut.synops[2], cut.synops[1]);
        if stop > 4 {
            assert_eq!(cut.predictions[0], full.predictions[0]);
            assert_eq!(cut.synops[0], full.synops[0]);
        }
        return;
    }
    panic!("no random model led at step 6");
}
