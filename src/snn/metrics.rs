//! Simulating a data set and summarising it: accuracy per `T`, spikes,
//! SynOps, energy estimates, and per-layer diagnosis (firing rate and the
//! correlation between CNN activation and SNN rate).

use ndarray::{ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;

use super::cutoff::{LeadTrack, Watch};
use super::engine::{Engine, ImageRun};
use super::model::{Neurons, SnnModel};
use super::sim::{Propagation, Simulator};
use super::timesteps::Timesteps;

/// What a report says about a layer besides its measurements.
#[derive(Debug, Clone)]
pub struct LayerInfo {
    pub name: String,
    pub kind: &'static str,
    pub neurons: usize,
    /// Whether it emits spikes (its rate is compared with the CNN's).
    pub spikes: bool,
    /// The most spikes a neuron emits in a step (its rate's upper limit).
    pub burst: u32,
}

impl LayerInfo {
    pub fn of(model: &SnnModel) -> Vec<LayerInfo> {
        model
            .layers
            .iter()
            .map(|l| LayerInfo {
                name: l.name.clone(),
                kind: match l.neurons {
                    Neurons::IntegrateAndFire { .. } => "if",
                    Neurons::MaxGate { .. } => "maxgate",
                    Neurons::Readout => "readout",
                    Neurons::SpikeCountReadout { .. } => "count_readout",
                },
                neurons: l.size(),
                spikes: l.spikes(),
                burst: l.burst,
            })
            .collect()
    }
}

/// Energy per operation at 45 nm (Horowitz, ISSCC 2014), picojoules: a
/// 32-bit float add for each synaptic operation of the SNN, a 32-bit float
/// multiply-add for each MAC of the CNN (and of the SNN's analog input layer).
pub const E_AC_PJ: f64 = 0.9;
pub const E_MAC_PJ: f64 = 4.6;

/// Per-layer CNN activations of one image, each already divided by the
/// layer's lambda, so that a perfect SNN's rate equals it (clipped to [0, 1]).
pub type ReferenceActivations<'a> = &'a (dyn Fn(ArrayView3<f32>) -> Vec<Vec<f32>> + Sync);

/// Results at one simulation length.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub timesteps: usize,
    pub accuracy: f64,
    /// Mean steps run per image: `timesteps`, or less with a cutoff.
    pub mean_timesteps: f64,
    pub spikes_per_image: f64,
    pub synops_per_image: f64,
    /// `E_SNN / E_CNN` with the constants above.
    pub energy_ratio: f64,
    /// The integer sums the means above divide by the number of images, so
    /// runs over parts of a data set (sweep shards) add up exactly.
    #[serde(skip)]
    pub totals: RunTotals,
}

/// Sums over the images of one run at one `T`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunTotals {
    pub images: u64,
    pub correct: u64,
    pub spikes: u64,
    pub synops: u64,
    pub steps: u64,
}

/// Both parts' sums.
impl std::ops::Add for RunTotals {
    type Output = RunTotals;
    fn add(self, o: RunTotals) -> RunTotals {
        RunTotals {
            images: self.images + o.images,
            correct: self.correct + o.correct,
            spikes: self.spikes + o.spikes,
            synops: self.synops + o.synops,
            steps: self.steps + o.steps,
        }
    }
}

impl RunTotals {
    /// Accuracy, spikes, SynOps and steps per image, divided as
    /// `simulate_dataset` divides them (so equal totals give equal means).
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.images.max(1) as f64
    }
    pub fn spikes_per_image(&self) -> f64 {
        self.spikes as f64 / self.images.max(1) as f64
    }
    pub fn synops_per_image(&self) -> f64 {
        self.synops as f64 / self.images.max(1) as f64
    }
    pub fn mean_timesteps(&self) -> f64 {
        self.steps as f64 / self.images.max(1) as f64
    }
}

/// Per-layer diagnosis at the largest `T`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub kind: &'static str,
    pub neurons: usize,
    pub spikes_per_image: f64,
    /// Spikes per neuron per step run.
    pub firing_rate: f64,
    /// Synaptic operations per image into this layer.
    pub synops_per_image: f64,
    /// Pearson correlation of CNN activation / lambda and SNN rate over all
    /// neurons and images (`None` without reference activations).
    pub correlation: Option<f64>,
    /// Saturation or wrap-around events of the membrane per image (always 0
    /// in the float simulator).
    pub overflows_per_image: f64,
}

/// A whole simulation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimReport {
    pub n: usize,
    pub runs: Vec<RunSummary>,
    pub layers: Vec<LayerSummary>,
    pub cnn_macs_per_image: u64,
    pub input_macs_per_image: f64,
    /// Membrane saturation/wrap events over all images and layers.
    pub overflows: u64,
}

/// Streaming sums for a Pearson correlation.
#[derive(Debug, Clone, Copy, Default)]
struct Pearson {
    n: f64,
    x: f64,
    y: f64,
    xx: f64,
    yy: f64,
    xy: f64,
}

impl Pearson {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.yy += y * y;
        self.xy += x * y;
    }

    fn merge(&mut self, o: &Pearson) {
        self.n += o.n;
        self.x += o.x;
        self.y += o.y;
        self.xx += o.xx;
        self.yy += o.yy;
        self.xy += o.xy;
    }

    fn value(&self) -> Option<f64> {
        let cov = self.xy - self.x * self.y / self.n;
        let vx = self.xx - self.x * self.x / self.n;
        let vy = self.yy - self.y * self.y / self.n;
        (self.n > 1.0 && vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
    }
}

/// Simulate every image for the sorted `timesteps`, in parallel, choosing
/// event-driven or dense propagation per step by firing rate.
/// `progress` is called once per finished image.
pub fn simulate_dataset(
    model: &SnnModel,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &Timesteps,
    reference: Option<ReferenceActivations>,
    progress: &(dyn Fn() + Sync),
) -> SimReport {
    simulate_dataset_with(
        model,
        images,
        labels,
        timesteps,
        reference,
        progress,
        Propagation::Auto,
    )
}

/// Running sums over images; merged across worker threads. Its size does
/// not depend on the number of images, so neither does a simulation's memory.
#[derive(Debug, Clone)]
struct Totals {
    images: usize,
    correct: Vec<u64>,
    spikes: Vec<u64>,
    synops: Vec<u64>,
    steps: Vec<u64>,
    layer_spikes: Vec<u64>,
    layer_synops: Vec<u64>,
    layer_overflows: Vec<u64>,
    input_macs: u64,
    pearson: Vec<Pearson>,
}

impl Totals {
    fn new(timesteps: usize, layers: usize) -> Totals {
        Totals {
            images: 0,
            correct: vec![0; timesteps],
            spikes: vec![0; timesteps],
            synops: vec![0; timesteps],
            steps: vec![0; timesteps],
            layer_spikes: vec![0; layers],
            layer_synops: vec![0; layers],
            layer_overflows: vec![0; layers],
            input_macs: 0,
            pearson: vec![Pearson::default(); layers],
        }
    }

    fn add(&mut self, run: &ImageRun, label: Option<usize>) {
        self.images += 1;
        for k in 0..self.correct.len() {
            self.correct[k] += u64::from(label == Some(run.predictions[k]));
            self.spikes[k] += run.spikes[k];
            self.synops[k] += run.synops[k];
            self.steps[k] += run.steps[k] as u64;
        }
        for (t, r) in self.layer_spikes.iter_mut().zip(&run.layer_spikes) {
            *t += r;
        }
        for (t, r) in self.layer_synops.iter_mut().zip(&run.layer_synops) {
            *t += r;
        }
        for (t, r) in self.layer_overflows.iter_mut().zip(&run.layer_overflows) {
            *t += r;
        }
        self.input_macs += run.input_macs;
    }

    fn merge(mut self, o: Totals) -> Totals {
        self.images += o.images;
        let sum = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        sum(&mut self.correct, &o.correct);
        sum(&mut self.spikes, &o.spikes);
        sum(&mut self.synops, &o.synops);
        sum(&mut self.steps, &o.steps);
        sum(&mut self.layer_spikes, &o.layer_spikes);
        sum(&mut self.layer_synops, &o.layer_synops);
        sum(&mut self.layer_overflows, &o.layer_overflows);
        self.input_macs += o.input_macs;
        for (a, b) in self.pearson.iter_mut().zip(&o.pearson) {
            a.merge(b);
        }
        self
    }
}

/// `simulate_dataset` with a fixed propagation strategy (benchmarks).
pub fn simulate_dataset_with(
    model: &SnnModel,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &Timesteps,
    reference: Option<ReferenceActivations>,
    progress: &(dyn Fn() + Sync),
    propagation: Propagation,
) -> SimReport {
    let make = || Simulator::with_propagation(model, propagation);
    simulate_engine(
        &make,
        &LayerInfo::of(model),
        model.cnn_macs,
        images,
        labels,
        timesteps,
        None,
        reference,
        progress,
    )
}

/// `simulate_dataset` with an early cutoff (docs/fixed-point.md §4.6): each
/// image stops at the first step its read-out margin (potential units, or
/// spikes for a spike-count read-out) reaches `margin`; the report at each
/// requested `T` is that of images run for at most `T` steps, with the
/// mean steps they took.
pub fn simulate_dataset_cutoff(
    model: &SnnModel,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &Timesteps,
    margin: f64,
    progress: &(dyn Fn() + Sync),
) -> SimReport {
    let make = || Simulator::new(model);
    simulate_engine(
        &make,
        &LayerInfo::of(model),
        model.cnn_macs,
        images,
        labels,
        timesteps,
        Some(margin),
        None,
        progress,
    )
}

/// Every image's read-out lead after each step `1..=timesteps` and its
/// full-length class, in image order: what `cutoff::choose_margin` needs.
pub fn track_leads<E: Engine>(
    make: &(dyn Fn() -> E + Sync),
    images: ArrayView4<f32>,
    timesteps: usize,
    progress: &(dyn Fn() + Sync),
) -> Vec<LeadTrack<E::Margin>> {
    (0..images.dim().0)
        .into_par_iter()
        .map_init(make, |sim, i| {
            let mut leads = Vec::with_capacity(timesteps);
            let watch = Watch {
                cutoff: None,
                leads: Some(&mut leads),
            };
            let run = sim.run_watched(images.index_axis(Axis(0), i), &[timesteps], watch);
            progress();
            LeadTrack {
                leads,
                full: run.predictions.first().copied().unwrap_or(0),
            }
        })
        .collect()
}

/// `track_leads` with the float simulator.
pub fn track_leads_float(
    model: &SnnModel,
    images: ArrayView4<f32>,
    timesteps: usize,
    progress: &(dyn Fn() + Sync),
) -> Vec<LeadTrack<f64>> {
    track_leads(&|| Simulator::new(model), images, timesteps, progress)
}

/// Simulate every image with engines from `make` (one per worker thread),
/// in parallel, and summarise. `layers` describes the engine's layers; with
/// `cutoff`, images stop early (`simulate_dataset_cutoff`).
#[allow(clippy::too_many_arguments)]
pub fn simulate_engine<E: Engine>(
    make: &(dyn Fn() -> E + Sync),
    layers: &[LayerInfo],
    cnn_macs: u64,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &Timesteps,
    cutoff: Option<E::Margin>,
    reference: Option<ReferenceActivations>,
    progress: &(dyn Fn() + Sync),
) -> SimReport {
    let n = images.dim().0;
    let fresh = || Totals::new(timesteps.len(), layers.len());
    let totals = (0..n)
        .into_par_iter()
        .fold(
            || None::<(E, Totals)>,
            |state, i| {
                let (mut sim, mut totals) = state.unwrap_or_else(|| (make(), fresh()));
                let image = images.index_axis(Axis(0), i);
                let run = sim.run_watched(image, timesteps, Watch::stop(cutoff));
                if let Some(reference) = reference {
                    // The rate over the steps this image actually ran.
                    let steps = run.steps.last().copied().unwrap_or(0).max(1) as f64;
                    let acts = reference(image);
                    for (li, (act, counts)) in acts.iter().zip(sim.counts()).enumerate() {
                        if !layers[li].spikes {
                            continue;
                        }
                        let most = layers[li].burst as f32;
                        for (&a, &k) in act.iter().zip(counts) {
                            totals.pearson[li]
                                .add(f64::from(a.clamp(0.0, most)), f64::from(k) / steps);
                        }
                    }
                }
                totals.add(&run, labels.map(|l| l[i]));
                progress();
                Some((sim, totals))
            },
        )
        .map(|s| s.map_or_else(fresh, |(_, t)| t))
        .reduce(fresh, Totals::merge);
    summarise(
        layers,
        cnn_macs,
        &totals,
        labels.is_some(),
        timesteps,
        reference.is_some(),
    )
}

fn summarise(
    layers: &[LayerInfo],
    cnn_macs: u64,
    totals: &Totals,
    labelled: bool,
    timesteps: &[usize],
    correlate: bool,
) -> SimReport {
    let n = totals.images.max(1) as f64;
    let input_macs = totals.input_macs as f64 / n;
    let cnn_energy = cnn_macs as f64 * E_MAC_PJ;
    let runs = timesteps
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let sums = RunTotals {
                images: totals.images as u64,
                correct: totals.correct[k],
                spikes: totals.spikes[k],
                synops: totals.synops[k],
                steps: totals.steps[k],
            };
            let synops = sums.synops_per_image();
            let snn_energy = synops * E_AC_PJ + input_macs * E_MAC_PJ;
            RunSummary {
                timesteps: t,
                mean_timesteps: sums.mean_timesteps(),
                accuracy: if labelled { sums.accuracy() } else { f64::NAN },
                spikes_per_image: sums.spikes_per_image(),
                synops_per_image: synops,
                energy_ratio: if cnn_energy > 0.0 {
                    snn_energy / cnn_energy
                } else {
                    0.0
                },
                totals: sums,
            }
        })
        .collect();
    // Steps actually run at the largest T (all of them without a cutoff).
    let steps = totals.steps.last().copied().unwrap_or(0) as f64 / n;
    let layers = layers
        .iter()
        .enumerate()
        .map(|(li, l)| {
            let spikes = totals.layer_spikes[li] as f64 / n;
            LayerSummary {
                name: l.name.clone(),
                kind: l.kind,
                neurons: l.neurons,
                spikes_per_image: spikes,
                firing_rate: spikes / (l.neurons as f64 * steps.max(1e-9)),
                synops_per_image: totals.layer_synops[li] as f64 / n,
                correlation: if correlate && l.spikes {
                    totals.pearson[li].value()
                } else {
                    None
                },
                overflows_per_image: totals.layer_overflows[li] as f64 / n,
            }
        })
        .collect();
    SimReport {
        n: totals.images,
        runs,
        layers,
        cnn_macs_per_image: cnn_macs,
        overflows: totals.layer_overflows.iter().sum(),
        input_macs_per_image: input_macs,
    }
}
