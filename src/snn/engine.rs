//! What every time-stepped simulator of one image provides (the float one
//! in `sim`, the integer one in `bitsim`) and what one run of an image
//! returns; `metrics` runs any of them over a data set.

use ndarray::ArrayView3;

use super::cutoff::{Margin, Watch};
use super::trace::{Potentials, SpikeTrace};

/// The result of simulating one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageRun {
    /// Predicted class at each requested `T`, in the order requested.
    pub predictions: Vec<usize>,
    /// Total spikes (all layers) up to each requested `T`.
    pub spikes: Vec<u64>,
    /// Total synaptic operations up to each requested `T`.
    pub synops: Vec<u64>,
    /// Steps run up to each requested `T`: `T`, or the cutoff step of an
    /// image that stopped earlier (docs/fixed-point.md §4.6).
    pub steps: Vec<usize>,
    /// Per layer, at the largest `T`: spikes and SynOps caused by its input.
    pub layer_spikes: Vec<u64>,
    pub layer_synops: Vec<u64>,
    /// Per layer: membrane saturation/wrap events (integer simulator).
    pub layer_overflows: Vec<u64>,
    /// Multiply-accumulates of the analog input current (done once).
    pub input_macs: u64,
}

/// A time-stepped simulator of one image at a time (the float one here, the
/// integer one in `bitsim`); one per worker thread, reused across images.
pub trait Engine: Send {
    /// The read-out margin's type: `f64` (float) or raw `i64` (integer).
    type Margin: Margin;
    /// Simulate one image up to the largest of the sorted `timesteps`.
    fn run(&mut self, image: ArrayView3<f32>, timesteps: &[usize]) -> ImageRun {
        self.run_watched(image, timesteps, Watch::none())
    }
    /// `run`, watching the read-out's lead after every step: stop at the
    /// cutoff (docs/fixed-point.md §4.6; requested `T`s beyond the stop
    /// report the stopped image), and record the leads if asked.
    fn run_watched(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: &[usize],
        watch: Watch<'_, Self::Margin>,
    ) -> ImageRun;
    /// Spike counts per neuron of each layer after the last `run`.
    fn counts(&self) -> &[Vec<u32>];
    /// Simulate one image for `timesteps` steps, recording every layer's
    /// spikes and potentials at every step.
    fn trace(&mut self, image: ArrayView3<f32>, timesteps: usize) -> SpikeTrace {
        self.trace_cutoff(image, timesteps, None)
    }
    /// `trace`, ending at the cutoff step if the margin is reached first.
    fn trace_cutoff(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: usize,
        cutoff: Option<Self::Margin>,
    ) -> SpikeTrace;
    /// Membrane potentials of layer `layer` after the last `run`.
    fn potentials(&self, layer: usize) -> Potentials;
}

/// An engine chosen at run time (the integer simulator's storage width).
impl<E: Engine + ?Sized> Engine for Box<E> {
    type Margin = E::Margin;
    fn run_watched(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: &[usize],
        watch: Watch<'_, Self::Margin>,
    ) -> ImageRun {
        (**self).run_watched(image, timesteps, watch)
    }
    fn counts(&self) -> &[Vec<u32>] {
        (**self).counts()
    }
    fn trace_cutoff(
        &mut self,
        image: ArrayView3<f32>,
        timesteps: usize,
        cutoff: Option<Self::Margin>,
    ) -> SpikeTrace {
        (**self).trace_cutoff(image, timesteps, cutoff)
    }
    fn potentials(&self, layer: usize) -> Potentials {
        (**self).potentials(layer)
    }
}
