//! Keras `.h5` files (tf.keras 2 and Keras 3 legacy HDF5): container,
//! superblock bounds, `model_config`, weight datasets, graph building.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::file("model.h5", data);
    let _ = snncc::import::survey(&path);
    if let Ok(model) = snncc::import::load_model(&path) {
        common::exercise_graph(&model.graph);
    }
});
