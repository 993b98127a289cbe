//! The library's simulators and stages on degenerate requests (what a
//! caller other than the CLI may pass): no timesteps, a zero or unsorted
//! list, no images, an empty network. Each answers or refuses; none panics.

mod common;

use common::*;
use ndarray::Array4;
use snncc::quant::{choose_formats, quantize_model, QuantOptions};

fn images(n: usize) -> Array4<f32> {
    Array4::from_shape_fn((n, 2, 3, 2), |(i, h, w, c)| {
        ((i + h * 3 + w * 2 + c) % 5) as f32 / 4.0
    })
}

#[test]
fn timestep_lists_are_valid_by_construction() {
    use snncc::snn::{Timesteps, TimestepsError};
    // What once reached the simulators and panicked there (a 0-step or an
    // empty list, an unsorted one) is refused or put in order up front.
    assert_eq!(Timesteps::new(vec![]), Err(TimestepsError::Empty));
    assert_eq!(Timesteps::new(vec![0, 4]), Err(TimestepsError::Zero));
    let model = mlp(&mut Lcg(7));
    let q = quantize_model(
        &model,
        &choose_formats(&model, &QuantOptions::with_bits(8, 16)).unwrap(),
    )
    .unwrap()
    .model;
    let labels = [0, 1, 2];
    let unsorted = Timesteps::new(vec![8, 2, 8]).unwrap();
    let float = snncc::snn::simulate_dataset(
        &model,
        images(3).view(),
        Some(&labels),
        &unsorted,
        None,
        &|| {},
    );
    let fixed = snncc::bitsim::simulate_quantized(
        &q,
        images(3).view(),
        Some(&labels),
        &unsorted,
        None,
        &|| {},
    );
    for report in [&float, &fixed] {
        let ts: Vec<usize> = report.runs.iter().map(|r| r.timesteps).collect();
        assert_eq!(ts, [2, 8]);
    }
    // No images: a report of nothing, not a division by zero.
    let none =
        snncc::snn::simulate_dataset(&model, images(0).view(), Some(&[]), &unsorted, None, &|| {});
    assert_eq!(none.runs.len(), 2);
    assert!(none.runs.iter().all(|r| r.accuracy == 0.0));
}

#[test]
fn an_empty_network_is_refused_by_every_stage() {
    let mut model = mlp(&mut Lcg(7));
    model.layers.clear();
    model.h_layers = None;
    assert!(snncc::snn::check_model(&model).is_err());
    assert!(choose_formats(&model, &QuantOptions::with_bits(8, 16)).is_err());
    let dir = tempfile::tempdir().unwrap();
    // Saved (a caller may), it does not load back.
    if snncc::snn::save_net(&model, dir.path(), &[]).is_ok() {
        let err = snncc::snn::load_net(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no layers"), "{err}");
    }
}

#[test]
fn per_channel_initial_fractions_round_trip_and_are_checked() {
    use snncc::snn::InitialFraction;
    let mut model = mlp(&mut Lcg(7));
    let channels: Vec<usize> = model.layers.iter().map(|l| l.shape.channels()).collect();
    model.h_layers = Some(vec![
        InitialFraction::Channels((0..channels[0]).map(|i| i as f32 / 10.0 - 0.3).collect()),
        InitialFraction::Layer(-0.2),
        InitialFraction::Layer(0.5),
    ]);
    snncc::snn::check_model(&model).unwrap();
    let dir = tempfile::tempdir().unwrap();
    snncc::snn::save_net(&model, dir.path(), &[]).unwrap();
    assert_eq!(snncc::snn::load_net(dir.path()).unwrap(), model);
    // Per channel, the quantiser gives each channel its own V0, and the
    // bit-accurate simulator starts each neuron at its channel's.
    let q = quantize_model(
        &model,
        &choose_formats(&model, &QuantOptions::with_bits(8, 16)).unwrap(),
    )
    .unwrap()
    .model;
    let snncc::quant::QLayerKind::Neurons(n) = &q.layers[0].kind else {
        panic!("fc1 has a datapath")
    };
    assert_eq!(n.v0.len(), channels[0]);
    assert!(n.v0[0] < 0 && n.v0[channels[0] - 1] > 0, "{:?}", n.v0);
    // A list that does not match the channels is refused, naming the layer.
    model.h_layers.as_mut().unwrap()[0] = InitialFraction::Channels(vec![0.1, 0.2]);
    let (layer, reason) = snncc::snn::check_model(&model).unwrap_err();
    assert_eq!(layer, "fc1");
    assert!(reason.contains("2 initial fractions"), "{reason}");
    model.h_layers.as_mut().unwrap()[0] = InitialFraction::Channels(vec![1.5; channels[0]]);
    assert!(snncc::snn::check_model(&model).is_err());
}
