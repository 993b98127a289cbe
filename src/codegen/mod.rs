//! Rendering a quantised network into hardware files (docs/hardware.md).
//! So far: `$readmemh` memory images and the hand-written primitives that
//! every output carries; the layer engines and top level come next.

mod mem;

pub use mem::render_mem;

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
