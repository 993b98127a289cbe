//! The spiking network (`SnnModel`), its float time-stepped simulator and
//! the metrics of a simulation.

pub mod metrics;
mod model;
pub mod sim;

pub use metrics::{simulate_dataset, LayerSummary, RunSummary, SimReport};
pub use model::{Connection, Neurons, SnnLayer, SnnModel, Source, Synapses};
