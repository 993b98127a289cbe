//! A model config (the JSON of `model_config` / `config.json`) by itself:
//! parsing, the support survey that lists every unconvertible layer, and
//! graph building up to the first layer whose weights it needs (this target
//! has none to give; the container targets cover weights).
#![no_main]

use libfuzzer_sys::fuzz_target;
use snncc::import::StoredWeights;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = snncc::import::survey_config(text, "config.json");
    let _ = snncc::import::build_graph(text, "config.json", &|_layer| {
        Ok(StoredWeights::Numbered(Vec::new()))
    });
});
