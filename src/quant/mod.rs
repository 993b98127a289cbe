//! Fixed-point quantisation of a converted network (docs/fixed-point.md):
//! formats and arithmetic policies (`format`), the only rounding and
//! saturating code (`arith`), the editable description of a quantisation
//! (`spec`), automatic formats (`choose`), and applying a description to a
//! network (`build`) to get the `QuantModel` the integer simulator and the
//! hardware read.

pub mod arith;
mod build;
mod choose;
pub mod format;
mod model;
mod spec;

pub use build::{membrane_range, quantize_model, LayerQuantReport, Quantized};
pub use choose::choose_formats;
pub use format::{FormatError, Overflow, QFormat, Rounding};
pub use model::{
    InputFormat, LayerFormats, NeuronLayer, QConnection, QLayerKind, QNeurons, QSynapses,
    QuantLayer, QuantModel,
};
pub use spec::{LayerSpec, QuantOptions, QuantSpec};

/// Errors of the quantisation stage; each names the layer or option.
#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    #[error("layer {layer}: {reason}")]
    Layer { layer: String, reason: String },
    #[error(
        "the quantisation names layer '{name}', {}; layers with a datapath: {known}",
        if *gate { "a max gate, which has no datapath to quantise" } else { "which the network does not have" }
    )]
    UnknownLayer {
        name: String,
        known: String,
        gate: bool,
    },
    #[error("the quantisation has no entry for layer(s) {0}")]
    MissingLayers(String),
    #[error("the quantisation lists the layers out of order; expected: {expected}")]
    Order { expected: String },
    #[error(
        "the network does not record its input range (converted before snncc recorded it); \
         reconvert it, or pass --calib (its range sets the input format)"
    )]
    NoInputRange,
    #[error("{0}")]
    Option(String),
    #[error("the network is inconsistent at layer {layer}: {reason}")]
    Network { layer: String, reason: String },
}

/// The network check (`snn::check_model`) every entry to this stage makes:
/// a caller of the library may hand in a model no loader checked.
fn check_network(model: &crate::snn::SnnModel) -> Result<(), QuantError> {
    crate::snn::check_model(model).map_err(|(layer, reason)| QuantError::Network { layer, reason })
}
