//! Simulator throughput on the bundled examples: images/s and synaptic
//! operations/s of the event-driven simulator at T=64 and T=256.
//!
//! Run with `cargo bench --bench simulate`. Numbers are printed, not
//! asserted: machines are noisy, so targets live here and in the README.

use std::path::Path;
use std::time::Instant;

use ndarray::s;
use snncc::ecc::{self, ConvertOptions};
use snncc::{data, import, snn};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let calib = data::read_images(&root.join("examples/data/calib-images.npy")).expect("calib");
    let images = data::read_images(&root.join("examples/data/test-images.npy")).expect("images");
    let labels = data::read_labels(&root.join("examples/data/test-labels.npy")).expect("labels");
    println!("threads: {}", rayon::current_num_threads());
    for (model, n) in [("lenet.keras", 2000), ("vgg.keras", 300)] {
        let graph = import::load_model(&root.join("examples/models").join(model))
            .expect("model")
            .graph;
        let started = Instant::now();
        let conv = ecc::convert(&graph, calib.view(), ConvertOptions::default()).expect("convert");
        let convert_s = started.elapsed().as_secs_f64();
        let x = images.slice(s![..n, .., .., ..]);
        for t in [64usize, 256] {
            let started = Instant::now();
            let report =
                snn::simulate_dataset(&conv.model, x, Some(&labels[..n]), &[t], None, &|| {});
            let secs = started.elapsed().as_secs_f64();
            let r = &report.runs[0];
            println!(
                "{model:12} T={t:3}: {:7.0} images/s, {:6.2} G SynOps/s, accuracy {:.2}% ({n} images, {:.2} s; conversion {:.3} s)",
                n as f64 / secs,
                r.synops_per_image * n as f64 / secs / 1e9,
                100.0 * r.accuracy,
                secs,
                convert_s
            );
        }
    }
}
