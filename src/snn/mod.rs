//! The spiking network (`SnnModel`), its float time-stepped simulator, the
//! metrics of a simulation, and the on-disk network directory.

pub mod burst;
mod check;
pub mod cutoff;
pub(crate) mod dense;
pub mod engine;
pub(crate) mod fanout;
pub mod metrics;
mod model;
pub(crate) mod pack;
pub mod rates;
pub mod sim;
pub mod store;
mod timesteps;
pub mod trace;

pub use check::{check_model, is_initial_fraction};
pub use fanout::Value;
pub use metrics::{
    simulate_dataset, simulate_dataset_cutoff, simulate_dataset_with, LayerSummary, RunSummary,
    RunTotals, SimReport,
};
pub use model::{
    Bias, Connection, InitialFraction, Neurons, SnnLayer, SnnModel, Source, Synapses, MAX_BURST,
};
pub use sim::Propagation;
pub use store::{is_net_dir, load_net, save_net, StoreError};
pub use timesteps::{Timesteps, TimestepsError};
pub use trace::{LayerTrace, Potentials, SpikeTrace};
