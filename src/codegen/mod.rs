//! Rendering a quantised network into hardware files (docs/hardware.md):
//! `design` decides every width, constant, routing table and memory word,
//! `render` prints the top level, the testbench and the memory images.

mod balance;
mod blocks;
mod core_file;
mod cycles;
mod design;
mod layout;
mod manifest;
mod mem;
mod render;
mod residual;
mod routing;

pub use balance::{balance_lanes, logic_estimate, Balance};
pub use blocks::{memories, total_blocks, MemoryUse};
pub use core_file::write_core;
pub use cycles::{mean_work_bound, trace_as_run, work_bound, MeanWorkBound, WorkBound};
pub use design::{
    addr_bits, check_lanes, design, Design, DesignError, DesignOptions, Engine, EngineKind,
    Geometry, NeuronEngine, Offchip, Problem, Readout, StateWord, STEP_OVERHEAD,
};
pub use manifest::{
    EngineEntry, Extent, InitialPotentials, LayerEntry, Manifest, ManifestError, Memory,
    NeuronEntry, Shortcut, Testbench, MANIFEST,
};
pub use mem::{render_mem, render_words};
pub use render::{top_name, write_design, write_testbench, write_testbench_in, MEM_DIR};
pub use residual::Residual;
pub use routing::{Slot, TapWords};

/// The hand-written Verilog primitives (`hw/`), compiled into the binary so
/// an output folder is self-contained: (file name, source).
pub const PRIMITIVES: [(&str, &str); 9] = [
    ("snn_if_fit.v", include_str!("../../hw/snn_if_fit.v")),
    ("snn_if_neuron.v", include_str!("../../hw/snn_if_neuron.v")),
    ("snn_fifo.v", include_str!("../../hw/snn_fifo.v")),
    ("snn_layer.v", include_str!("../../hw/snn_layer.v")),
    ("snn_mul_reg.v", include_str!("../../hw/snn_mul_reg.v")),
    ("snn_readout.v", include_str!("../../hw/snn_readout.v")),
    ("snn_ram.v", include_str!("../../hw/snn_ram.v")),
    ("snn_update.v", include_str!("../../hw/snn_update.v")),
    (
        "snn_spike_list.v",
        include_str!("../../hw/snn_spike_list.v"),
    ),
];
