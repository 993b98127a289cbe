//! Simulating a data set and summarising it: accuracy per `T`, spikes,
//! SynOps, energy estimates, and per-layer diagnosis (firing rate and the
//! correlation between CNN activation and SNN rate).

use ndarray::{ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;

use super::model::SnnModel;
use super::sim::{ImageRun, Propagation, Simulator};

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
    pub spikes_per_image: f64,
    pub synops_per_image: f64,
    /// `E_SNN / E_CNN` with the constants above.
    pub energy_ratio: f64,
}

/// Per-layer diagnosis at the largest `T`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerSummary {
    pub name: String,
    pub kind: &'static str,
    pub neurons: usize,
    pub spikes_per_image: f64,
    /// Spikes per neuron per step.
    pub firing_rate: f64,
    /// Synaptic operations per image into this layer.
    pub synops_per_image: f64,
    /// Pearson correlation of CNN activation / lambda and SNN rate over all
    /// neurons and images (`None` without reference activations).
    pub correlation: Option<f64>,
}

/// A whole simulation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimReport {
    pub n: usize,
    pub runs: Vec<RunSummary>,
    pub layers: Vec<LayerSummary>,
    pub cnn_macs_per_image: u64,
    pub input_macs_per_image: f64,
    /// Per image, predicted class at each `T`.
    #[serde(skip)]
    pub predictions: Vec<Vec<usize>>,
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
    timesteps: &[usize],
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

/// `simulate_dataset` with a fixed propagation strategy (benchmarks).
pub fn simulate_dataset_with(
    model: &SnnModel,
    images: ArrayView4<f32>,
    labels: Option<&[usize]>,
    timesteps: &[usize],
    reference: Option<ReferenceActivations>,
    progress: &(dyn Fn() + Sync),
    propagation: Propagation,
) -> SimReport {
    let n = images.dim().0;
    let layers = model.layers.len();
    let t_max = *timesteps.last().expect("at least one T") as f64;
    type Acc = (Vec<(usize, ImageRun)>, Vec<Pearson>);
    let (mut runs, pearson): Acc = (0..n)
        .into_par_iter()
        .fold(
            || None::<(Simulator, Acc)>,
            |state, i| {
                let (mut sim, (mut runs, mut pearson)) = state.unwrap_or_else(|| {
                    (
                        Simulator::with_propagation(model, propagation),
                        (Vec::new(), vec![Pearson::default(); layers]),
                    )
                });
                let image = images.index_axis(Axis(0), i);
                let run = sim.run(image, timesteps);
                if let Some(reference) = reference {
                    let acts = reference(image);
                    for (li, (act, counts)) in acts.iter().zip(sim.counts()).enumerate() {
                        if !model.layers[li].spikes() {
                            continue;
                        }
                        for (&a, &k) in act.iter().zip(counts) {
                            pearson[li].add(f64::from(a.clamp(0.0, 1.0)), f64::from(k) / t_max);
                        }
                    }
                }
                runs.push((i, run));
                progress();
                Some((sim, (runs, pearson)))
            },
        )
        .map(|s| {
            s.map(|(_, acc)| acc)
                .unwrap_or_else(|| (Vec::new(), vec![Pearson::default(); layers]))
        })
        .reduce(
            || (Vec::new(), vec![Pearson::default(); layers]),
            |(mut ra, mut pa), (rb, pb)| {
                ra.extend(rb);
                for (a, b) in pa.iter_mut().zip(&pb) {
                    a.merge(b);
                }
                (ra, pa)
            },
        );
    runs.sort_by_key(|(i, _)| *i);
    let runs: Vec<ImageRun> = runs.into_iter().map(|(_, r)| r).collect();
    summarise(
        model,
        &runs,
        labels,
        timesteps,
        &pearson,
        reference.is_some(),
    )
}

fn summarise(
    model: &SnnModel,
    runs: &[ImageRun],
    labels: Option<&[usize]>,
    timesteps: &[usize],
    pearson: &[Pearson],
    correlate: bool,
) -> SimReport {
    let n = runs.len().max(1) as f64;
    let input_macs = runs.iter().map(|r| r.input_macs as f64).sum::<f64>() / n;
    let cnn_energy = model.cnn_macs as f64 * E_MAC_PJ;
    let summaries = timesteps
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let correct = labels.map_or(0, |l| {
                runs.iter()
                    .zip(l)
                    .filter(|(r, &y)| r.predictions[k] == y)
                    .count()
            });
            let spikes = runs.iter().map(|r| r.spikes[k] as f64).sum::<f64>() / n;
            let synops = runs.iter().map(|r| r.synops[k] as f64).sum::<f64>() / n;
            let snn_energy = synops * E_AC_PJ + input_macs * E_MAC_PJ;
            RunSummary {
                timesteps: t,
                accuracy: if labels.is_some() {
                    correct as f64 / n
                } else {
                    f64::NAN
                },
                spikes_per_image: spikes,
                synops_per_image: synops,
                energy_ratio: if cnn_energy > 0.0 {
                    snn_energy / cnn_energy
                } else {
                    0.0
                },
            }
        })
        .collect();
    let t_max = *timesteps.last().expect("at least one T") as f64;
    let layers = model
        .layers
        .iter()
        .enumerate()
        .map(|(li, l)| {
            let spikes = runs.iter().map(|r| r.layer_spikes[li] as f64).sum::<f64>() / n;
            LayerSummary {
                name: l.name.clone(),
                kind: match l.neurons {
                    super::Neurons::IntegrateAndFire { .. } => "if",
                    super::Neurons::MaxGate { .. } => "maxgate",
                    super::Neurons::Readout => "readout",
                    super::Neurons::SpikeCountReadout { .. } => "count_readout",
                },
                neurons: l.size(),
                spikes_per_image: spikes,
                firing_rate: spikes / (l.size() as f64 * t_max),
                synops_per_image: runs.iter().map(|r| r.layer_synops[li] as f64).sum::<f64>() / n,
                correlation: if correlate && l.spikes() {
                    pearson[li].value()
                } else {
                    None
                },
            }
        })
        .collect();
    SimReport {
        n: runs.len(),
        runs: summaries,
        layers,
        cnn_macs_per_image: model.cnn_macs,
        input_macs_per_image: input_macs,
        predictions: runs.iter().map(|r| r.predictions.clone()).collect(),
    }
}
