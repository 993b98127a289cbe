//! What every target shares: the readers under test take paths, so each
//! input is written to a scratch file first (in memory, under /dev/shm where
//! there is one) and the real reader opens it, exactly as the CLI does.

#![allow(dead_code)] // each target uses part of it

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch folder (libFuzzer forks one process per job).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("snncc-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    })
}

/// Write `data` to the scratch file `name` and return its path.
pub fn file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("scratch file");
    path
}

/// The most neurons a fuzzed network may have for the harness to simulate
/// and generate it: the readers must bound what they allocate from the
/// bytes they read, but a consistent network of a billion neurons is a
/// valid (if absurd) input whose simulation is bounded by its size, not
/// by anything the reader can refuse.
pub const MAX_NEURONS: usize = 1 << 20;

use ndarray::Array4;
use snncc::ir::{Graph, Shape};
use snncc::snn::SnnModel;

/// Elements of one sample of `shape`, or `None` past `MAX_NEURONS` (or on
/// overflow, which a reader must not let through in the first place).
fn bounded_len(shape: Shape) -> Option<usize> {
    let n = shape
        .dims()
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
    (n <= MAX_NEURONS).then_some(n)
}

/// Zero images that fit `shape`: N x H x W x C, a vector as 1 x 1 x N.
fn zero_images(shape: Shape, n: usize) -> Option<Array4<f32>> {
    bounded_len(shape)?;
    Some(match shape {
        Shape::Map { h, w, c } => Array4::zeros((n, h, w, c)),
        Shape::Vector { n: len } => Array4::zeros((n, 1, 1, len)),
    })
}

/// Everything downstream of an imported graph: float inference, ECC
/// conversion on two images, then the network's own stages.
pub fn exercise_graph(graph: &Graph) {
    let mut total = 0usize;
    for node in graph.nodes() {
        match bounded_len(node.shape) {
            Some(n) => total = total.saturating_add(n),
            None => return,
        }
    }
    if total > MAX_NEURONS {
        return;
    }
    let Some(images) = zero_images(graph.input_shape(), 2) else {
        return;
    };
    let _ = snncc::reference::run(graph, images.index_axis(ndarray::Axis(0), 0));
    if let Ok(conversion) =
        snncc::ecc::convert(graph, images.view(), snncc::ecc::ConvertOptions::default())
    {
        exercise_net(&conversion.model);
    }
}

/// Everything downstream of a network: the float simulator, 8-bit formats,
/// the bit-accurate simulator and the hardware design.
pub fn exercise_net(model: &SnnModel) {
    let mut total = 0usize;
    for layer in &model.layers {
        match bounded_len(layer.shape) {
            Some(n) => total = total.saturating_add(n),
            None => return,
        }
    }
    if total > MAX_NEURONS {
        return;
    }
    let Some(images) = zero_images(model.input_shape, 1) else {
        return;
    };
    let image = images.index_axis(ndarray::Axis(0), 0);
    use snncc::snn::engine::Engine;
    let _ = snncc::snn::sim::Simulator::new(model).run(image, &[1, 2]);
    let options = snncc::quant::QuantOptions::with_bits(8, 4);
    let Ok(spec) = snncc::quant::choose_formats(model, &options) else {
        return;
    };
    if let Ok(quantized) = snncc::quant::quantize_model(model, &spec) {
        exercise_quantized(&quantized.model, 4);
    }
}

/// The bit-accurate simulator and the hardware design of a quantised network.
pub fn exercise_quantized(model: &snncc::quant::QuantModel, timesteps: usize) {
    let Some(images) = zero_images(model.input_shape, 1) else {
        return;
    };
    let image = images.index_axis(ndarray::Axis(0), 0);
    use snncc::snn::engine::Engine;
    let _ = snncc::bitsim::engine(model).run(image, &[1, 2]);
    // The CLI's defaults (`snncc build --help`).
    let design = snncc::codegen::DesignOptions {
        timesteps: timesteps.clamp(1, 1 << 16),
        lanes: 16,
        slots: 8,
        layer_lanes: None,
        layer_serial: None,
        layer_slots: None,
        cutoff: Some(1),
        state: snncc::codegen::StateWord::Auto,
    };
    let _ = snncc::codegen::design(model, &design);
}

/// The converted network the `snn_dir` and `quant_yaml` targets start from:
/// the folder `SNNCC_FUZZ_NET` names (`fuzz/run.sh` converts one).
fn base_dir() -> PathBuf {
    let dir = std::env::var_os("SNNCC_FUZZ_NET").expect(
        "SNNCC_FUZZ_NET must name a network folder (snncc convert ... -o DIR); fuzz/run.sh sets it",
    );
    PathBuf::from(dir)
}

/// The base network, loaded once.
pub fn base_net() -> &'static SnnModel {
    static NET: OnceLock<SnnModel> = OnceLock::new();
    NET.get_or_init(|| snncc::snn::load_net(&base_dir()).expect("SNNCC_FUZZ_NET loads"))
}

/// A scratch network folder holding the base network's weight files, for a
/// fuzzed `snn.yaml` to be written into.
pub fn net_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("net");
        std::fs::create_dir_all(&dir).expect("scratch folder");
        for entry in std::fs::read_dir(base_dir()).expect("SNNCC_FUZZ_NET is a folder") {
            let entry = entry.expect("SNNCC_FUZZ_NET is readable");
            if entry.path().extension().is_some_and(|e| e == "npy") {
                std::fs::copy(entry.path(), dir.join(entry.file_name()))
                    .expect("copy a weight file");
            }
        }
        dir
    })
}

/// A data file read every way the CLI reads one (the format is found from
/// the bytes, so the npy and idx targets differ only in their seeds).
pub fn data_file(name: &str, data: &[u8]) {
    let path = file(name, data);
    let _ = snncc::data::read_images(&path);
    let _ = snncc::data::read_labels(&path);
    let _ = snncc::data::read_npy_f32(&path);
}
