//! A network directory whose `snn.yaml` is fuzzed (its `.npy` weights are
//! the base network's, `SNNCC_FUZZ_NET`): loading and the network check,
//! then every later stage on what they accept, so the check must cover
//! everything those stages index.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = common::net_dir();
    std::fs::write(dir.join(snncc::snn::store::DESCRIPTION), data).expect("scratch file");
    if let Ok(model) = snncc::snn::load_net(dir) {
        common::exercise_net(&model);
    }
});
