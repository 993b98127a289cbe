//! Every fixture model (all layer kinds, all three file kinds) converts, and
//! its SNN agrees with its CNN on the fixture inputs after a long run.

mod common;

use common::*;
use ndarray::Axis;
use snncc::ecc::{self, ConvertOptions};
use snncc::{data, import, reference, snn};

#[test]
fn fixture_models_convert_and_agree_with_their_cnn() {
    for name in [
        "resnet_mini",
        "mixed_seq",
        "seq_noinput",
        "bn_after_pool",
        "mlp_flat",
    ] {
        let inputs = data::read_images(&fixture(&format!("{name}.inputs.npy"))).unwrap();
        for kind in ["tf2.h5", "k3.h5", "keras"] {
            let graph = import::load_model(&fixture(&format!("{name}.{kind}")))
                .unwrap()
                .graph;
            let conv = ecc::convert(&graph, inputs.view(), ConvertOptions::default())
                .unwrap_or_else(|e| panic!("{name}.{kind}: {e}"));
            let classes = |g: &snncc::ir::Graph| -> Vec<usize> {
                reference::predict(g, inputs.view(), &|| {})
                    .unwrap()
                    .axis_iter(Axis(0))
                    .map(|r| reference::argmax(r.as_slice().unwrap()))
                    .collect()
            };
            // Folding is exact unless it warns (BN folded forward across
            // zero padding): then the folded CNN is what the SNN reproduces.
            let folded_classes = classes(&conv.folded);
            if conv.log.warnings.is_empty() {
                assert_eq!(
                    classes(&graph),
                    folded_classes,
                    "{name}.{kind}: folding changed predictions"
                );
            }
            let report = snn::simulate_dataset(
                &conv.model,
                inputs.view(),
                Some(&folded_classes),
                &snn::Timesteps::one(1024).unwrap(),
                None,
                &|| {},
            );
            let agree = report.runs[0].accuracy;
            println!(
                "{name}.{kind}: SNN agrees with CNN on {:.0}% of inputs",
                100.0 * agree
            );
            assert!(agree >= 0.75, "{name}.{kind}: agreement {agree}");
        }
    }
}
