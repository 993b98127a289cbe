//! snncc: compile trained Keras CNNs into spiking neural networks and
//! fixed-point hardware.
//!
//! The library is a pipeline of stages, each taking the previous stage's type:
//! `import` (Keras file -> [`ir::Graph`]), `reference` (float inference of the
//! graph), and `data` (the input readers). See docs/architecture.md.

pub mod bitsim;
pub mod codegen;
pub mod config;
pub mod cosim;
pub mod data;
pub mod ecc;
pub mod external;
pub mod import;
pub mod ir;
pub mod pipeline;
pub mod quant;
pub mod reference;
pub mod report;
pub mod slurm;
pub mod snn;
pub mod sweep;
pub mod synth;
