//! Keras 3 `.keras` zips: the archive, member bounds, `config.json`,
//! `metadata.json`, the embedded `model.weights.h5`, graph building.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::file("model.keras", data);
    let _ = snncc::import::survey(&path);
    if let Ok(model) = snncc::import::load_model(&path) {
        common::exercise_graph(&model.graph);
    }
});
