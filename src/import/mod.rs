//! Keras model files -> `ir::Graph`.
//!
//! Three containers are read: tf.keras 2 `.h5`, Keras 3 `.h5` (both HDF5 with
//! the config in the root attribute `model_config` and weights under
//! `model_weights/`) and Keras 3 `.keras` zips (`config.json` plus
//! `model.weights.h5`). The kind is recognised by the file's magic bytes, not
//! its extension. This is the only module that knows Keras exists.

mod build;
mod config;
mod layers;
mod weights;

use std::io::Read;
use std::path::{Path, PathBuf};

use hdf5_reader::Hdf5File;

use crate::ir::Graph;
pub use build::{build_graph, survey as survey_config, LayerClasses};
pub use weights::StoredWeights;
use weights::WeightLayout;

/// Errors of the import stage. Every variant names the file; layer problems
/// name the layer.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: not a Keras model file ({reason}); expected a .h5 (HDF5) or .keras (zip) file saved by Keras")]
    UnknownFormat { file: PathBuf, reason: String },
    #[error("{file}: {reason}")]
    Container { file: PathBuf, reason: String },
    #[error("{file}: {reason}")]
    Config { file: String, reason: String },
    #[error("{file}: {count} layer(s) cannot be converted:\n{list}", count = .problems.len(), list = format_problems(.problems))]
    Unsupported {
        file: String,
        problems: Vec<LayerProblem>,
    },
    #[error("{file}: layer '{layer}': {reason}")]
    Layer {
        file: String,
        layer: String,
        reason: String,
    },
}

/// One reason one layer cannot be imported.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerProblem {
    pub layer: String,
    pub class_name: String,
    pub reason: String,
}

fn format_problems(problems: &[LayerProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {} ({}): {}", p.layer, p.class_name, p.reason))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which writer produced a file, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FileKind {
    /// HDF5 with `model_config` (tf.keras 2 or Keras 3 legacy `.h5`).
    Hdf5,
    /// Keras 3 zip archive.
    KerasZip,
}

/// A model read from disk: the graph plus where it came from.
#[derive(Debug, Clone)]
pub struct ImportedModel {
    pub graph: Graph,
    pub kind: FileKind,
    /// `keras_version` as the file records it, when it does.
    pub keras_version: Option<String>,
    /// Keras class name of each layer (`ReLU`, `Activation`, ...).
    pub classes: LayerClasses,
}

const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// An opened model file: its config text and where its weights are.
struct Container {
    config: String,
    kind: FileKind,
    keras_version: Option<String>,
    weights: Hdf5File,
    layout: WeightLayout,
}

/// Read a Keras model file into the IR.
pub fn load_model(path: &Path) -> Result<ImportedModel, ImportError> {
    let c = open_container(path)?;
    let display = path.display().to_string();
    let (graph, classes) = build_graph(&c.config, &display, &|layer| {
        weights::read_layer(&c.weights, &c.layout, layer)
    })?;
    Ok(ImportedModel {
        graph,
        kind: c.kind,
        keras_version: c.keras_version,
        classes,
    })
}

/// Every layer of a model file with the reasons it cannot be converted
/// (empty when it can), read from the config alone: what `inspect` shows
/// for a model that does not import.
pub fn survey(path: &Path) -> Result<Vec<LayerProblem>, ImportError> {
    let c = open_container(path)?;
    build::survey(&c.config, &path.display().to_string())
}

fn open_container(path: &Path) -> Result<Container, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    if bytes.starts_with(HDF5_MAGIC) {
        let file = open_hdf5(bytes, path, "")?;
        let config = root_attr_string(&file, "model_config").ok_or_else(|| ImportError::Container {
            file: path.to_path_buf(),
            reason: "HDF5 file has no 'model_config' attribute: it holds weights only (saved with save_weights?); save the whole model with model.save()".into(),
        })?;
        let root = if file.group("model_weights").is_ok() {
            "model_weights"
        } else {
            ""
        };
        Ok(Container {
            config,
            kind: FileKind::Hdf5,
            keras_version: root_attr_string(&file, "keras_version"),
            weights: file,
            layout: WeightLayout::NamedGroups { root: root.into() },
        })
    } else if bytes.starts_with(ZIP_MAGIC) {
        open_keras_zip(bytes, path)
    } else {
        let reason = if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "it starts with neither the HDF5 nor the zip signature".to_string()
        };
        Err(ImportError::UnknownFormat {
            file: path.to_path_buf(),
            reason,
        })
    }
}

/// The most bytes one member of a `.keras` archive may decompress to (a
/// model an FPGA can hold is far smaller; 1 GiB).
pub const MAX_MEMBER_BYTES: u64 = 1 << 30;

fn open_keras_zip(bytes: Vec<u8>, path: &Path) -> Result<Container, ImportError> {
    let container = |reason: String| ImportError::Container {
        file: path.to_path_buf(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| container(format!("not a readable zip archive: {e}")))?;
    let mut read_member = |name: &str| -> Result<Vec<u8>, ImportError> {
        let mut entry = archive.by_name(name).map_err(|_| {
            container(format!(
                "the archive has no '{name}'; a .keras file saved by Keras 3 has config.json and model.weights.h5"
            ))
        })?;
        // A member is read whole, so its size is bounded: a decompression
        // bomb must not exhaust memory, whatever its header declares.
        if entry.size() > MAX_MEMBER_BYTES {
            return Err(container(format!(
                "'{name}' declares {} bytes uncompressed, more than the {MAX_MEMBER_BYTES}-byte limit of a .keras member",
                entry.size()
            )));
        }
        let mut buf = Vec::new();
        (&mut entry)
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| container(format!("cannot decompress '{name}': {e}")))?;
        if buf.len() as u64 > MAX_MEMBER_BYTES {
            return Err(container(format!(
                "'{name}' decompresses to more than the {MAX_MEMBER_BYTES}-byte limit of a .keras member"
            )));
        }
        Ok(buf)
    };
    let config = read_member("config.json")?;
    let config =
        String::from_utf8(config).map_err(|_| container("config.json is not UTF-8 text".into()))?;
    let keras_version = read_member("metadata.json").ok().and_then(|m| {
        serde_json::from_slice::<serde_json::Value>(&m)
            .ok()?
            .get("keras_version")?
            .as_str()
            .map(str::to_string)
    });
    let weights = read_member("model.weights.h5")?;
    let weights = open_hdf5(weights, path, "model.weights.h5 inside the archive: ")?;
    let layout = WeightLayout::numbered_vars(&weights)
        .map_err(|reason| container(format!("model.weights.h5: {reason}")))?;
    Ok(Container {
        config,
        kind: FileKind::KerasZip,
        keras_version,
        weights,
        layout,
    })
}

fn open_hdf5(bytes: Vec<u8>, path: &Path, what: &str) -> Result<Hdf5File, ImportError> {
    let len = bytes.len() as u64;
    let file = Hdf5File::from_vec(bytes).map_err(|e| ImportError::Container {
        file: path.to_path_buf(),
        reason: format!("{what}HDF5 data is unreadable (truncated or corrupt?): {e}"),
    })?;
    // A file cut short in a copy or download may still parse when the lost
    // tail held only optimizer state; its superblock records where it ends
    // (libhdf5 refuses such a file too).
    let sb = file.superblock();
    let end = sb.base_address.saturating_add(sb.eof_address);
    if len < end {
        return Err(ImportError::Container {
            file: path.to_path_buf(),
            reason: format!(
                "{what}HDF5 data is truncated: its superblock says it ends at byte {end}, but it has {len} bytes"
            ),
        });
    }
    Ok(file)
}

fn root_attr_string(file: &Hdf5File, name: &str) -> Option<String> {
    let root = file.root_group().ok()?;
    weights::attr_strings(&root, name)?.into_iter().next()
}
