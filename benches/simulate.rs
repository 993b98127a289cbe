//! Simulator throughput on the bundled examples at T=64 and T=256:
//! event-driven, dense (every synapse every step: the in-run baseline) and
//! auto (per step by firing rate), as images/s, synaptic operations/s and
//! the ratio to the dense baseline; the bit-accurate integer simulator
//! (8-bit weights) as a ratio to float auto; plus conversion time and peak
//! memory.
//!
//! Run with `cargo bench --bench simulate`. Arguments select runs whose
//! name (`lenet.keras T=64 auto`, `vgg16_cifar`) contains all of them:
//! `cargo bench --bench simulate -- lenet 64 auto`. Numbers are printed, not
//! asserted: machines are noisy, so targets live here and in the README.

#[path = "../examples/vgg16/net.rs"]
mod vgg16;

use std::path::Path;
use std::time::Instant;

use ndarray::s;
use snncc::ecc::{self, ConvertOptions};
use snncc::snn::{self, Propagation};
use snncc::{bitsim, data, import, quant};

/// One simulation length.
fn ts(t: usize) -> snn::Timesteps {
    snn::Timesteps::one(t).expect("positive timesteps")
}

/// A memory figure of this process from /proc/self/status (Linux), in MiB:
/// `VmHWM` is the peak resident set, `VmRSS` the current one.
fn status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// The VGG16-shaped CIFAR-10 load test: memory must not grow with T or with
/// the number of images, so it is printed after runs that differ in both.
fn vgg16_load_test() {
    let graph = vgg16::vgg16_cifar(1);
    let calib = vgg16::random_images(64, 2);
    let started = Instant::now();
    let conv = ecc::convert(&graph, calib.view(), ConvertOptions::default()).expect("convert");
    println!(
        "vgg16_cifar ({} parameters): conversion {:.2} s; peak RSS {:.0} MiB",
        graph.param_count(),
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    for (n, t) in [(2usize, 64usize), (2, 256), (6, 256)] {
        let x = vgg16::random_images(n, 3);
        let started = Instant::now();
        let report = snn::simulate_dataset(&conv.model, x.view(), None, &ts(t), None, &|| {});
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  T={t:3}, {n} images: {:.2} images/s, {:.2} G SynOps/s; RSS now {:.0} MiB, peak {:.0} MiB",
            n as f64 / secs,
            report.runs[0].synops_per_image * n as f64 / secs / 1e9,
            status_mib("VmRSS:"),
            peak_rss_mib()
        );
    }
}

/// The work of `snncc sweep` on LeNet, 7 weight widths x 5 simulation
/// lengths on 2,000 digits (target: under 5 minutes): per width, automatic
/// formats and one integer simulation read out at every T.
fn sweep_bench(calib: &ndarray::Array4<f32>, images: &ndarray::Array4<f32>, labels: &[usize]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = import::load_model(&root.join("examples/models/lenet.keras"))
        .expect("model")
        .graph;
    let conv = ecc::convert(&graph, calib.view(), ConvertOptions::default()).expect("convert");
    let timesteps = snn::Timesteps::new(vec![16, 32, 64, 128, 256]).expect("timesteps");
    let started = Instant::now();
    for bits in [4, 5, 6, 8, 10, 12, 16] {
        let spec = quant::choose_formats(&conv.model, &quant::QuantOptions::with_bits(bits, 256))
            .expect("formats");
        let q = quant::quantize_model(&conv.model, &spec)
            .expect("quantise")
            .model;
        bitsim::simulate_quantized(&q, images.view(), Some(labels), &timesteps, None, &|| {});
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "lenet.keras sweep7x5 (2,000 digits): {secs:.1} s ({:.3} of the 5-minute target)",
        secs / 300.0
    );
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let calib = data::read_images(&root.join("examples/data/calib-images.npy")).expect("calib");
    let images = data::read_images(&root.join("examples/data/test-images.npy")).expect("images");
    let labels = data::read_labels(&root.join("examples/data/test-labels.npy")).expect("labels");
    // cargo passes `--bench`; any other argument narrows the selection.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().all(|f| name.contains(f.as_str()));
    println!("threads: {}", rayon::current_num_threads());
    for (model, n) in [("lenet.keras", 2000), ("vgg.keras", 300)] {
        let graph = import::load_model(&root.join("examples/models").join(model))
            .expect("model")
            .graph;
        let started = Instant::now();
        let conv = ecc::convert(&graph, calib.view(), ConvertOptions::default()).expect("convert");
        println!(
            "{model}: conversion {:.3} s (500 calibration images)",
            started.elapsed().as_secs_f64()
        );
        let x = images.slice(s![..n, .., .., ..]);
        for t in [64usize, 256] {
            let (mut dense_rate, mut auto_rate) = (f64::NAN, f64::NAN);
            for (label, mode) in [
                ("dense", Propagation::Dense),
                ("event", Propagation::Event),
                ("auto", Propagation::Auto),
            ] {
                if !wanted(&format!("{model} T={t} {label}")) {
                    continue;
                }
                let started = Instant::now();
                let report = snn::simulate_dataset_with(
                    &conv.model,
                    x,
                    Some(&labels[..n]),
                    &ts(t),
                    None,
                    &|| {},
                    mode,
                );
                let secs = started.elapsed().as_secs_f64();
                let rate = n as f64 / secs;
                if mode == Propagation::Dense {
                    dense_rate = rate;
                }
                let r = &report.runs[0];
                println!(
                    "  T={t:3} {label:5}: {rate:7.0} images/s ({:5.2}x dense), {:5.2} G SynOps/s, accuracy {:.2}% on {n}",
                    rate / dense_rate,
                    r.synops_per_image * n as f64 / secs / 1e9,
                    100.0 * r.accuracy,
                );
                if mode == Propagation::Auto {
                    auto_rate = rate;
                }
            }
            // The bit-accurate integer simulator, 8-bit weights, automatic
            // formats; its target is to be no slower than the float one.
            if wanted(&format!("{model} T={t} fixed8")) {
                let options = quant::QuantOptions::with_bits(8, t);
                let spec = quant::choose_formats(&conv.model, &options).expect("formats");
                let q = quant::quantize_model(&conv.model, &spec)
                    .expect("quantise")
                    .model;
                let started = Instant::now();
                let report =
                    bitsim::simulate_quantized(&q, x, Some(&labels[..n]), &ts(t), None, &|| {});
                let secs = started.elapsed().as_secs_f64();
                let rate = n as f64 / secs;
                let r = &report.runs[0];
                println!(
                    "  T={t:3} fixed8: {rate:6.0} images/s ({:5.2}x float auto), {:5.2} G SynOps/s, accuracy {:.2}%, {} overflows",
                    rate / auto_rate,
                    r.synops_per_image * n as f64 / secs / 1e9,
                    100.0 * r.accuracy,
                    report.overflows,
                );
            }
        }
        println!("  peak RSS so far: {:.0} MiB", peak_rss_mib());
    }
    if wanted("lenet.keras sweep7x5") {
        sweep_bench(&calib, &images, &labels);
    }
    if wanted("vgg16_cifar") {
        vgg16_load_test();
    }
}
