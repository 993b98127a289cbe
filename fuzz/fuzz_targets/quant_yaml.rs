//! The quantisation YAML (`snncc quantize --config`): parsing, then the
//! formats applied to a real converted network (the `snn_dir` seed's
//! network, `SNNCC_FUZZ_NET`), then the bit-accurate simulator and the
//! hardware design on what it accepts.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = snncc::config::quant::parse(text, Path::new("quant.yaml")) else {
        return;
    };
    let model = common::base_net();
    if let Ok(quantized) = snncc::quant::quantize_model(model, &spec) {
        common::exercise_quantized(&quantized.model, spec.timesteps);
    }
});
