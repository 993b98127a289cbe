//! Load test: convert a VGG16-shaped CIFAR-10 network (random weights) and
//! simulate it at T=256, reporting time and peak memory.
//!
//! `cargo run --release --example vgg16_cifar [IMAGES]`

#[path = "vgg16/net.rs"]
mod net;

use std::time::Instant;

use snncc::ecc::{self, ConvertOptions};
use snncc::snn;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let images: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(16);
    let graph = net::vgg16_cifar(1);
    println!(
        "{}: {} parameters, {} MACs/image",
        graph.name,
        graph.param_count(),
        ecc::cnn_macs(&graph)
    );
    let calib = net::random_images(64, 2);
    let started = Instant::now();
    let conv = ecc::convert(&graph, calib.view(), ConvertOptions::default()).expect("converts");
    println!(
        "converted in {:.2} s; peak RSS {:.0} MiB",
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    let x = net::random_images(images, 3);
    let started = Instant::now();
    let report = snn::simulate_dataset(
        &conv.model,
        x.view(),
        None,
        &snn::Timesteps::new(vec![64, 256]).expect("timesteps"),
        None,
        &|| {},
    );
    let secs = started.elapsed().as_secs_f64();
    for r in &report.runs {
        println!(
            "T={:3}: {:.0} spikes/image, {:.3e} SynOps/image, energy SNN/CNN {:.3}",
            r.timesteps, r.spikes_per_image, r.synops_per_image, r.energy_ratio
        );
    }
    println!(
        "simulated {images} images to T=256 in {secs:.2} s ({:.2} images/s); peak RSS {:.0} MiB",
        images as f64 / secs,
        peak_rss_mib()
    );
}
