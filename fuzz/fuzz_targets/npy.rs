//! NumPy `.npy` files (plain or gzipped) as images, labels and weights.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::data_file("data.npy", data);
});
