//! Rendering a quantised network into hardware files (docs/hardware.md).
//! So far: networks of dense layers (`design` decides every width and
//! constant, `render` prints the top level, the testbench and the memory
//! images); conv, pooling and lanes come next.

mod design;
mod mem;
mod render;

pub use design::{addr_bits, design, DenseEngine, Design, DesignError};
pub use mem::render_mem;
pub use render::{top_name, write_design, write_testbench};

/// The hand-written Verilog primitives (`hw/`), compiled into the binary so
/// an output folder is self-contained: (file name, source).
pub const PRIMITIVES: [(&str, &str); 4] = [
    ("snn_if_neuron.v", include_str!("../../hw/snn_if_neuron.v")),
    (
        "snn_dense_layer.v",
        include_str!("../../hw/snn_dense_layer.v"),
    ),
    ("snn_ram.v", include_str!("../../hw/snn_ram.v")),
    (
        "snn_spike_list.v",
        include_str!("../../hw/snn_spike_list.v"),
    ),
];
