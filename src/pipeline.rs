//! The library pipeline the commands compose: load a network (read a
//! converted directory, or import a Keras model and convert it), quantise
//! it, and compute the golden values a design is checked against.
//!
//! Each step is a function of typed settings; nothing here prints or knows
//! a command-line flag, so `build` goes `load -> quantise -> design ->
//! golden -> write` without returning to the CLI (docs/architecture.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{ArrayView4, Axis};
use rayon::prelude::*;

use crate::ecc::{self, Conversion, ConvertOptions, Granularity};
use crate::ir::Graph;
use crate::quant::{QuantModel, QuantOptions, QuantSpec, Quantized};
use crate::{bitsim, codegen, config, data, import, quant, reference, snn};

pub mod cutoff;

/// What went wrong in a pipeline step, with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Import(#[from] import::ImportError),
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("calibration file {path}: {source}")]
    Calibration {
        path: PathBuf,
        source: reference::ReferenceError,
    },
    #[error("converting {path}: {source}")]
    Convert {
        path: PathBuf,
        source: ecc::ConvertError,
    },
    #[error(
        "{0} is a Keras model: calibration images are needed to measure activation scales (or pass a directory made by snncc convert)"
    )]
    NeedsCalibration(PathBuf),
    #[error(transparent)]
    Store(#[from] snn::store::StoreError),
    #[error(transparent)]
    Config(#[from] config::quant::ConfigError),
    /// A quantisation file's layer is wrong: the line that names it.
    #[error("{path}:{line}: {source}")]
    QuantFile {
        path: PathBuf,
        line: usize,
        source: quant::QuantError,
    },
    #[error(transparent)]
    Quant(#[from] quant::QuantError),
    #[error("choosing the cutoff margin: {0}")]
    Cutoff(#[from] snn::cutoff::CutoffError),
    #[error("choosing the cutoff margin needs calibration images, and none were given")]
    CutoffNeedsCalibration,
    #[error("calibration file {path}: {reason}")]
    CutoffImages { path: PathBuf, reason: String },
}

/// How a Keras model is converted (docs/ecc.md).
#[derive(Debug, Clone)]
pub struct ConvertSettings {
    pub norm: ecc::Norm,
    pub per_channel: bool,
    /// The uniform initial fraction; `None`: 0.5 for a new conversion, the
    /// directory's own for a converted network.
    pub h: Option<f32>,
    pub readout: ecc::Readout,
    pub burst: ecc::Burst,
    /// Steps at one spike a step before bursts begin.
    pub burst_after: u32,
    /// Calibrate the initial potentials after conversion.
    pub calibrate: Option<Calibration>,
}

/// The initial-potential calibration (docs/ecc.md step 6).
#[derive(Debug, Clone)]
pub struct Calibration {
    pub granularity: Granularity,
    /// The run lengths spike counts are matched over (the best is kept).
    pub lengths: ecc::Lengths,
}

/// A network to simulate or quantise: converted from a Keras model now
/// (with the CNN it came from), or read from a directory.
pub enum Network {
    Converted {
        graph: Graph,
        conversion: Conversion,
        seconds: f64,
    },
    Dir(snn::SnnModel),
}

impl Network {
    pub fn model(&self) -> &snn::SnnModel {
        match self {
            Network::Converted { conversion, .. } => &conversion.model,
            Network::Dir(m) => m,
        }
    }
}

/// Import a Keras model and convert it with `settings` on the images of
/// `calib`. Returns the graph, the conversion (its log says what was done,
/// calibration included) and the seconds conversion took once the
/// calibration images were read.
pub fn convert_keras(
    model: &Path,
    calib: &Path,
    settings: &ConvertSettings,
) -> Result<(Graph, Conversion, f64), PipelineError> {
    let graph = import::load_model(model)?.graph;
    let calib_images = data::read_images(calib)?;
    reference::check_input(&graph, calib_images.dim()).map_err(|source| {
        PipelineError::Calibration {
            path: calib.to_path_buf(),
            source,
        }
    })?;
    let options = ConvertOptions {
        norm: settings.norm,
        per_channel: settings.per_channel,
        h: settings.h.unwrap_or(0.5),
        readout: settings.readout,
        burst: settings.burst,
        burst_after: settings.burst_after,
    };
    let started = Instant::now();
    let mut conversion = ecc::convert(&graph, calib_images.view(), options).map_err(|source| {
        PipelineError::Convert {
            path: model.to_path_buf(),
            source,
        }
    })?;
    if let Some(c) = &settings.calibrate {
        let calibrated =
            ecc::calibrate(&conversion, calib_images.view(), &c.lengths, c.granularity);
        let h_layers = calibrated.h_layers;
        let t = calibrated.timesteps;
        let chosen: Vec<String> = conversion
            .model
            .layers
            .iter()
            .zip(&h_layers)
            .filter(|(l, _)| matches!(l.neurons, snn::Neurons::IntegrateAndFire { .. }))
            .map(|(l, h)| format!("{} {h:.1}", l.name))
            .collect();
        conversion.log.changes.push(format!(
            "calibrated the initial potentials {} on {} calibration images for T = {t}: {}",
            match c.granularity {
                Granularity::Layer => "per layer",
                Granularity::Channel => "per channel",
            },
            calib_images.dim().0.min(ecc::CALIBRATION_IMAGES),
            chosen.join(", ")
        ));
        if !calibrated.disagreements.is_empty() {
            let runs: Vec<String> = calibrated
                .check_timesteps
                .iter()
                .map(usize::to_string)
                .collect();
            let per: Vec<String> = calibrated
                .disagreements
                .iter()
                .map(|(t, n)| {
                    let n: Vec<String> = n.iter().map(usize::to_string).collect();
                    format!("calibrated over {t} steps {}", n.join("/"))
                })
                .collect();
            conversion.log.changes.push(format!(
                "chose calibration length {t}: of {} further calibration images, classified unlike the CNN at {} steps: {}",
                calibrated.checked,
                runs.join("/"),
                per.join("; ")
            ));
        }
        conversion.model.h_layers = Some(h_layers);
    }
    Ok((graph, conversion, started.elapsed().as_secs_f64()))
}

/// Read a converted directory, or convert a Keras model on `calib`'s
/// images. A directory takes `settings.h` if given; one written before the
/// input range was recorded takes it from `calib` (fixed point needs it).
pub fn load_network(
    model: &Path,
    calib: Option<&Path>,
    settings: &ConvertSettings,
) -> Result<Network, PipelineError> {
    if snn::is_net_dir(model) {
        let mut net = snn::load_net(model)?;
        if let Some(h) = settings.h {
            net.h = h;
        }
        if let (None, Some(calib)) = (net.input_range, calib) {
            let images = data::read_images(calib)?;
            if images.dim().0 > 0 {
                net.input_range = Some(ecc::input_range(images.view()));
            }
        }
        return Ok(Network::Dir(net));
    }
    let Some(calib) = calib else {
        return Err(PipelineError::NeedsCalibration(model.to_path_buf()));
    };
    let (graph, conversion, seconds) = convert_keras(model, calib, settings)?;
    Ok(Network::Converted {
        graph,
        conversion,
        seconds,
    })
}

/// Where a network's fixed-point formats come from.
#[derive(Debug, Clone, Copy)]
pub enum Formats<'a> {
    /// Chosen automatically (`quant::choose_formats`).
    Auto(QuantOptions),
    /// Read from a quantisation YAML (`config::quant`).
    File(&'a Path),
}

/// The quantised network, with its formats from `formats`. A file's
/// errors name the line of the layer they concern.
pub fn quantise(model: &snn::SnnModel, formats: Formats) -> Result<Quantized, PipelineError> {
    let spec = match formats {
        Formats::Auto(options) => quant::choose_formats(model, &options)?,
        Formats::File(path) => config::quant::read(path)?,
    };
    quant::quantize_model(model, &spec).map_err(|e| match (formats, e) {
        (Formats::File(path), source) => {
            let line = match &source {
                quant::QuantError::UnknownLayer { name, .. }
                | quant::QuantError::Layer { layer: name, .. } => std::fs::read_to_string(path)
                    .map(|t| config::quant::layer_line(&t, name))
                    .unwrap_or(1),
                _ => 1,
            };
            PipelineError::QuantFile {
                path: path.to_path_buf(),
                line,
                source,
            }
        }
        (Formats::Auto(_), e) => e.into(),
    })
}

/// The editable description of a quantised model: what the YAML holds.
pub fn spec_of(q: &QuantModel) -> QuantSpec {
    QuantSpec {
        rounding: q.rounding,
        overflow: q.overflow,
        timesteps: q.timesteps,
        input: q.input,
        layers: q
            .layers
            .iter()
            .filter_map(|l| match &l.kind {
                quant::QLayerKind::Neurons(n) => Some(quant::LayerSpec {
                    name: l.name.clone(),
                    scale: n.scale,
                    formats: n.formats,
                }),
                quant::QLayerKind::MaxGate { .. } => None,
            })
            .collect(),
    }
}

/// The bit-accurate simulator's read-out of one input, the steps it ran
/// (fewer than the design's with a cutoff) and the run's activity
/// (SynOps, MACs).
pub struct GoldenRun {
    pub readout: Vec<i64>,
    pub steps: usize,
    pub run: snn::engine::ImageRun,
}

/// Per input: its raw words (what the testbench feeds) and its golden run,
/// with the early cutoff at raw margin `cutoff` if any.
pub fn golden(
    q: &QuantModel,
    images: ArrayView4<f32>,
    timesteps: usize,
    cutoff: Option<i64>,
) -> (Vec<Vec<i64>>, Vec<GoldenRun>) {
    let inputs = images
        .axis_iter(Axis(0))
        .map(|x| {
            x.iter()
                .map(|&v| q.input.raw(v, q.rounding, q.overflow).0)
                .collect()
        })
        .collect();
    let runs = (0..images.dim().0)
        .into_par_iter()
        .map(|i| {
            let (readout, steps, run) =
                bitsim::readout_run_cutoff(q, images.index_axis(Axis(0), i), timesteps, cutoff);
            GoldenRun {
                readout,
                steps,
                run,
            }
        })
        .collect();
    (inputs, runs)
}

/// Per input, the spikes the hardware produces: every layer's steps up to
/// the beat its golden run stops in (with a cutoff, each engine's steps up
/// to the stop; codegen::trace_as_run).
pub fn golden_traces(
    q: &QuantModel,
    images: ArrayView4<f32>,
    timesteps: usize,
    golden: &[GoldenRun],
) -> Vec<snn::SpikeTrace> {
    (0..images.dim().0)
        .into_par_iter()
        .map(|i| {
            let full = bitsim::trace_quantized(q, images.index_axis(Axis(0), i), timesteps);
            codegen::trace_as_run(&full, golden[i].steps)
        })
        .collect()
}
