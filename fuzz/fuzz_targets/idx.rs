//! IDX files (MNIST's format, plain or gzipped) as images and labels.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::data_file("data-idx3-ubyte", data);
});
