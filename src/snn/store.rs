//! Saving and loading a converted network as a directory: `snn.yaml`, a
//! human-readable description of layers, connections, scales and thresholds,
//! plus one `.npy` file per weight array (docs/snn-format.md).

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array4};
use serde::{Deserialize, Serialize};

use super::model::{
    Bias, Connection, InitialFraction, Neurons, SnnLayer, SnnModel, Source, Synapses,
};
use crate::data;
use crate::ir::{Pad, Shape};

/// The file inside a network directory that describes it.
pub const DESCRIPTION: &str = "snn.yaml";
const FORMAT: &str = "snncc-snn 1";

/// Errors of saving or loading a network directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Yaml { path: PathBuf, reason: String },
    #[error("{path}: layer '{layer}': {reason}")]
    Layer {
        path: PathBuf,
        layer: String,
        reason: String,
    },
    #[error(transparent)]
    Data(#[from] data::DataError),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetDoc {
    format: String,
    name: String,
    /// `[H, W, C]` or `[N]`.
    input_shape: Vec<usize>,
    /// Initial membrane potential as a fraction of the threshold.
    h: f32,
    /// One fraction per layer, where calibration chose them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    h_layers: Option<Vec<InitialFraction>>,
    cnn_macs: u64,
    /// Steps at one spike a step before burst spikes begin (0 if absent).
    #[serde(default, skip_serializing_if = "is_zero")]
    burst_after: u32,
    /// `[min, max]` of the calibration inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input_range: Option<[f32; 2]>,
    /// Free-form record of how the network was made (not read back).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    layers: Vec<LayerDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerDoc {
    name: String,
    shape: Vec<usize>,
    neurons: NeuronsDoc,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<ConnectionDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bias: Option<Vec<f32>>,
    lambda: Vec<f32>,
    /// Burst spikes: the most spikes a neuron emits in a step (1 if absent).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    burst: u32,
}

pub(crate) fn one() -> u32 {
    1
}

pub(crate) fn is_one(b: &u32) -> bool {
    *b == 1
}

pub(crate) fn is_zero(b: &u32) -> bool {
    *b == 0
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum NeuronsDoc {
    IntegrateAndFire {
        threshold: f32,
    },
    MaxGate {
        source: String,
        size: [usize; 2],
        strides: [usize; 2],
        pad: [usize; 4],
    },
    Readout,
    SpikeCountReadout {
        threshold: f32,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionDoc {
    /// `input` or the name of an earlier layer.
    source: String,
    synapses: SynapsesDoc,
}

/// `pad` is `[top, bottom, left, right]`; `weights` names a `.npy` file in
/// the directory.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum SynapsesDoc {
    Conv {
        weights: String,
        strides: [usize; 2],
        pad: [usize; 4],
    },
    Dense {
        weights: String,
    },
    AvgPool {
        size: [usize; 2],
        strides: [usize; 2],
        pad: [usize; 4],
        scale: Vec<f32>,
    },
    GlobalAvgPool {
        scale: Vec<f32>,
    },
    Identity {
        scale: Vec<f32>,
    },
}

fn pad_doc(p: Pad) -> [usize; 4] {
    [p.top, p.bottom, p.left, p.right]
}

fn pad_of(p: [usize; 4]) -> Pad {
    Pad {
        top: p[0],
        bottom: p[1],
        left: p[2],
        right: p[3],
    }
}

fn shape_of(dims: &[usize]) -> Option<Shape> {
    match *dims {
        [h, w, c] => Some(Shape::Map { h, w, c }),
        [n] => Some(Shape::Vector { n }),
        _ => None,
    }
}

/// Write `model` into `dir` (created if needed). `notes` records how it was
/// made (conversion options and log).
pub fn save_net(model: &SnnModel, dir: &Path, notes: &[String]) -> Result<(), StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.into(),
        source,
    })?;
    let name_of = |s: Source| match s {
        Source::Input => "input".to_string(),
        Source::Layer(i) => model.layers[i].name.clone(),
    };
    let mut layers = Vec::with_capacity(model.layers.len());
    for layer in &model.layers {
        let mut inputs = Vec::new();
        for (k, conn) in layer.inputs.iter().enumerate() {
            let file = format!("{}.in{k}.npy", layer.name);
            let synapses = match &conn.synapses {
                Synapses::Conv {
                    kernel,
                    strides,
                    pad,
                } => {
                    data::write_npy_f32(&dir.join(&file), kernel.view())?;
                    SynapsesDoc::Conv {
                        weights: file,
                        strides: [strides.0, strides.1],
                        pad: pad_doc(*pad),
                    }
                }
                Synapses::Dense { kernel } => {
                    data::write_npy_f32(&dir.join(&file), kernel.view())?;
                    SynapsesDoc::Dense { weights: file }
                }
                Synapses::AvgPool {
                    size,
                    strides,
                    pad,
                    scale,
                } => SynapsesDoc::AvgPool {
                    size: [size.0, size.1],
                    strides: [strides.0, strides.1],
                    pad: pad_doc(*pad),
                    scale: scale.clone(),
                },
                Synapses::GlobalAvgPool { scale } => SynapsesDoc::GlobalAvgPool {
                    scale: scale.clone(),
                },
                Synapses::Identity { scale } => SynapsesDoc::Identity {
                    scale: scale.clone(),
                },
            };
            inputs.push(ConnectionDoc {
                source: name_of(conn.source),
                synapses,
            });
        }
        let neurons = match &layer.neurons {
            Neurons::IntegrateAndFire { threshold } => NeuronsDoc::IntegrateAndFire {
                threshold: *threshold,
            },
            Neurons::Readout => NeuronsDoc::Readout,
            Neurons::SpikeCountReadout { threshold } => NeuronsDoc::SpikeCountReadout {
                threshold: *threshold,
            },
            Neurons::MaxGate { size, strides, pad } => NeuronsDoc::MaxGate {
                source: name_of(layer.gate_source.unwrap_or(Source::Input)),
                size: [size.0, size.1],
                strides: [strides.0, strides.1],
                pad: pad_doc(*pad),
            },
        };
        layers.push(LayerDoc {
            name: layer.name.clone(),
            shape: layer.shape.dims(),
            neurons,
            inputs,
            bias: layer.bias.as_ref().map(|b| b.values().to_vec()),
            lambda: layer.lambda.clone(),
            burst: layer.burst,
        });
    }
    let doc = NetDoc {
        format: FORMAT.into(),
        name: model.name.clone(),
        input_shape: model.input_shape.dims(),
        h: model.h,
        h_layers: model.h_layers.clone(),
        cnn_macs: model.cnn_macs,
        burst_after: model.burst_after,
        input_range: model.input_range,
        notes: notes.to_vec(),
        layers,
    };
    let path = dir.join(DESCRIPTION);
    let text = serde_norway::to_string(&doc).map_err(|e| StoreError::Yaml {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let header = "# snncc converted spiking network; format described in docs/snn-format.md\n";
    std::fs::write(&path, format!("{header}{text}"))
        .map_err(|source| StoreError::Io { path, source })
}

/// Whether `path` is a network directory (rather than a Keras file).
pub fn is_net_dir(path: &Path) -> bool {
    path.is_dir() && path.join(DESCRIPTION).is_file()
}

/// Read a network directory written by `save_net` (and perhaps edited).
pub fn load_net(dir: &Path) -> Result<SnnModel, StoreError> {
    let path = dir.join(DESCRIPTION);
    let text = std::fs::read_to_string(&path).map_err(|source| StoreError::Io {
        path: path.clone(),
        source,
    })?;
    let doc: NetDoc = serde_norway::from_str(&text).map_err(|e| StoreError::Yaml {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if doc.format != FORMAT {
        return Err(StoreError::Yaml {
            path,
            reason: format!("format '{}' is not '{FORMAT}'", doc.format),
        });
    }
    let input_shape = shape_of(&doc.input_shape).ok_or_else(|| StoreError::Yaml {
        path: path.clone(),
        reason: format!("input_shape {:?} must be [H, W, C] or [N]", doc.input_shape),
    })?;
    let mut names: Vec<String> = Vec::new();
    let mut layers = Vec::with_capacity(doc.layers.len());
    for l in doc.layers {
        let err = |reason: String| StoreError::Layer {
            path: path.clone(),
            layer: l.name.clone(),
            reason,
        };
        let source_of = |name: &str| -> Result<Source, StoreError> {
            if name == "input" {
                return Ok(Source::Input);
            }
            names
                .iter()
                .position(|n| n == name)
                .map(Source::Layer)
                .ok_or_else(|| {
                    err(format!(
                        "source '{name}' is not an earlier layer (layers must be listed in order)"
                    ))
                })
        };
        let shape = shape_of(&l.shape)
            .ok_or_else(|| err(format!("shape {:?} must be [H, W, C] or [N]", l.shape)))?;
        let mut inputs = Vec::with_capacity(l.inputs.len());
        for c in &l.inputs {
            let source = source_of(&c.source)?;
            let synapses = match &c.synapses {
                SynapsesDoc::Conv {
                    weights,
                    strides,
                    pad,
                } => {
                    let a = data::read_npy_f32(&dir.join(weights))?;
                    let kernel: Array4<f32> = a
                        .into_dimensionality()
                        .map_err(|_| err(format!("{weights} must be 4-D (kh, kw, cin, cout)")))?;
                    Synapses::Conv {
                        kernel: kernel.as_standard_layout().into_owned(),
                        strides: (strides[0], strides[1]),
                        pad: pad_of(*pad),
                    }
                }
                SynapsesDoc::Dense { weights } => {
                    let a = data::read_npy_f32(&dir.join(weights))?;
                    let kernel: Array2<f32> = a
                        .into_dimensionality()
                        .map_err(|_| err(format!("{weights} must be 2-D (inputs, units)")))?;
                    Synapses::Dense {
                        kernel: kernel.as_standard_layout().into_owned(),
                    }
                }
                SynapsesDoc::AvgPool {
                    size,
                    strides,
                    pad,
                    scale,
                } => Synapses::AvgPool {
                    size: (size[0], size[1]),
                    strides: (strides[0], strides[1]),
                    pad: pad_of(*pad),
                    scale: scale.clone(),
                },
                SynapsesDoc::GlobalAvgPool { scale } => Synapses::GlobalAvgPool {
                    scale: scale.clone(),
                },
                SynapsesDoc::Identity { scale } => Synapses::Identity {
                    scale: scale.clone(),
                },
            };
            inputs.push(Connection { source, synapses });
        }
        let (neurons, gate_source) = match &l.neurons {
            NeuronsDoc::IntegrateAndFire { threshold } => (
                Neurons::IntegrateAndFire {
                    threshold: *threshold,
                },
                None,
            ),
            NeuronsDoc::Readout => (Neurons::Readout, None),
            NeuronsDoc::SpikeCountReadout { threshold } => (
                Neurons::SpikeCountReadout {
                    threshold: *threshold,
                },
                None,
            ),
            NeuronsDoc::MaxGate {
                source,
                size,
                strides,
                pad,
            } => (
                Neurons::MaxGate {
                    size: (size[0], size[1]),
                    strides: (strides[0], strides[1]),
                    pad: pad_of(*pad),
                },
                Some(source_of(source)?),
            ),
        };
        names.push(l.name.clone());
        layers.push(SnnLayer {
            name: l.name,
            shape,
            neurons,
            inputs,
            gate_source,
            bias: l.bias.map(|b| Bias::from_values(b, shape.channels())),
            lambda: l.lambda,
            burst: l.burst,
        });
    }
    let model = SnnModel {
        name: doc.name,
        input_shape,
        layers,
        h: doc.h,
        h_layers: doc.h_layers,
        cnn_macs: doc.cnn_macs,
        input_range: doc.input_range,
        burst_after: doc.burst_after,
    };
    super::check::check_model(&model).map_err(|(layer, reason)| StoreError::Layer {
        path,
        layer,
        reason,
    })?;
    Ok(model)
}
