//! Rendering a quantised network into hardware files (docs/hardware.md):
//! `design` decides every width, constant, routing table and memory word,
//! `render` prints the top level, the testbench and the memory images.

mod design;
mod mem;
mod render;

pub use design::{
    addr_bits, check_lanes, design, Design, DesignError, Engine, EngineKind, Geometry,
    NeuronEngine, Problem, Readout, Routing, STEP_OVERHEAD,
};
pub use mem::{render_mem, render_words};
pub use render::{top_name, write_design, write_testbench};

/// The hand-written Verilog primitives (`hw/`), compiled into the binary so
/// an output folder is self-contained: (file name, source).
pub const PRIMITIVES: [(&str, &str); 5] = [
    ("snn_if_neuron.v", include_str!("../../hw/snn_if_neuron.v")),
    ("snn_layer.v", include_str!("../../hw/snn_layer.v")),
    ("snn_max_gate.v", include_str!("../../hw/snn_max_gate.v")),
    ("snn_ram.v", include_str!("../../hw/snn_ram.v")),
    (
        "snn_spike_list.v",
        include_str!("../../hw/snn_spike_list.v"),
    ),
];
