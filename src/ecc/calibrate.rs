//! Post-conversion calibration of the initial membrane potentials: one
//! fraction `h` per layer, chosen on calibration images so that over a
//! short run of `T` steps each layer fires as many spikes as its CNN
//! activations ask for (docs/ecc.md, "Calibration").
//!
//! Why the initial potential: it acts on the transient only (the rate limit
//! and `eval NET/` are unchanged, and the hardware already holds one V0 per
//! layer), and the transient is what a short run gets wrong. ECC's uniform
//! h = 0.5 is right for a layer whose input is steady from the first step;
//! a deep layer's input starts late (every layer before it has to charge
//! first) and one behind an identity shortcut gets its sources' early
//! surplus, so the best h differs per layer. Layers are calibrated in order,
//! each with the ones before it already calibrated.
//!
//! How long a run the counts are matched over matters, and no one length
//! is best for every network (benches/zoo: matched over 32 steps the
//! identity ResNet loses 4 pp at T = 16, matched over 16 the projection
//! ResNet loses 2.5). So `calibrate` calibrates once per candidate length
//! and keeps the one whose network agrees most often with the CNN on
//! further calibration images: a network-level check of what the
//! per-neuron count match only approximates.

use ndarray::{ArrayView4, Axis};
use rayon::prelude::*;

use super::Conversion;
use crate::reference;
use crate::snn::burst::most_spikes;
use crate::snn::engine::Engine;
use crate::snn::sim::Simulator;
use crate::snn::{InitialFraction, Neurons, SnnModel};

/// The candidate fractions, -1 to 1 in tenths (count is monotone in `h`;
/// a grid keeps the search independent of how the count steps). Below 0 a
/// neuron must first make up a deficit: for layers that fire a surplus
/// early (inputs that are positive at first and negative on average).
const GRID: [f32; 21] = [
    -1.0, -0.9, -0.8, -0.7, -0.6, -0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
    0.7, 0.8, 0.9, 1.0,
];

/// How many calibration images calibration simulates (the first ones):
/// with 64 a channel's choice rests on few active neurons, and the zoo's
/// ResNets missed T = 32 by a digit (0.35 pp); 128 met every target there
/// for twice the cost (benches/zoo).
pub const CALIBRATION_IMAGES: usize = 128;

/// How many calibration images (after the first `CALIBRATION_IMAGES`)
/// choose between candidate lengths: at 512, one image is 0.2 pp, fine
/// enough to separate the candidates the zoo shows (pp apart at T = 16).
pub const SELECTION_IMAGES: usize = 512;

/// The calibration lengths `auto` tries: 16 and 32 steps, the two that win
/// on some zoo model (24 won on none, benches/zoo).
pub const AUTO_LENGTHS: [usize; 2] = [16, 32];

/// The calibration lengths to try: distinct, ascending, at least one, none
/// zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lengths(Vec<usize>);

impl Lengths {
    /// `AUTO_LENGTHS`.
    pub fn auto() -> Lengths {
        Lengths(AUTO_LENGTHS.to_vec())
    }
    /// Sorted and deduplicated; `None` if empty or any is zero.
    pub fn new(mut lengths: Vec<usize>) -> Option<Lengths> {
        lengths.sort_unstable();
        lengths.dedup();
        (!lengths.is_empty() && lengths[0] > 0).then_some(Lengths(lengths))
    }
    pub fn get(&self) -> &[usize] {
        &self.0
    }
}

impl std::str::FromStr for Lengths {
    type Err = String;
    /// `auto`, or comma-separated positive step counts (`16,32`).
    fn from_str(s: &str) -> Result<Lengths, String> {
        if s == "auto" {
            return Ok(Lengths::auto());
        }
        let lengths = s
            .split(',')
            .map(|t| t.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("takes `auto` or step counts such as `16,32` (got `{s}`)"))?;
        Lengths::new(lengths).ok_or_else(|| format!("must be positive step counts (got `{s}`)"))
    }
}

/// What `calibrate` chose and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrated {
    /// Initial fraction per layer.
    pub h_layers: Vec<InitialFraction>,
    /// The length whose network was kept.
    pub timesteps: usize,
    /// With several candidates: per candidate length, how many of
    /// `checked` images its network classified differently from the CNN
    /// at each run length of `check_timesteps`.
    pub disagreements: Vec<(usize, Vec<usize>)>,
    pub checked: usize,
    pub check_timesteps: Vec<usize>,
}

/// Calibrate for every length in `lengths` (sorted, distinct, non-empty)
/// and keep the one whose network agrees with the CNN most often at runs
/// of each candidate length and twice the longest, on up to
/// `SELECTION_IMAGES` calibration images after the ones calibration uses
/// (all of them when no others are left). Ties keep the longer length.
/// One length is calibrated without a check.
pub fn calibrate(
    conversion: &Conversion,
    calib: ArrayView4<f32>,
    lengths: &Lengths,
    granularity: Granularity,
) -> Calibrated {
    let lengths = lengths.get();
    let targets = target_rates(conversion, calib);
    let runs: Vec<Vec<InitialFraction>> = lengths
        .iter()
        .map(|&t| calibrate_h(conversion, calib, &targets, t, granularity))
        .collect();
    let mut check_timesteps = lengths.to_vec();
    let longest = *lengths.last().expect("at least one length");
    if lengths.len() == 1 {
        return Calibrated {
            h_layers: runs.into_iter().next().expect("one run"),
            timesteps: longest,
            disagreements: Vec::new(),
            checked: 0,
            check_timesteps: Vec::new(),
        };
    }
    check_timesteps.push(2 * longest);
    let total = calib.dim().0;
    let (first, last) = if total > CALIBRATION_IMAGES {
        (
            CALIBRATION_IMAGES,
            total.min(CALIBRATION_IMAGES + SELECTION_IMAGES),
        )
    } else {
        (0, total)
    };
    let images: Vec<_> = (first..last)
        .map(|i| calib.index_axis(Axis(0), i))
        .collect();
    let cnn: Vec<usize> = images
        .par_iter()
        .map(|x| reference::argmax(&reference::run(&conversion.folded, *x)))
        .collect();
    let disagreements: Vec<(usize, Vec<usize>)> = runs
        .iter()
        .zip(lengths)
        .map(|(h, &t)| {
            let mut model = conversion.model.clone();
            model.h_layers = Some(h.clone());
            let zero = || vec![0; check_timesteps.len()];
            let wrong = images
                .par_iter()
                .zip(&cnn)
                .map_init(
                    || Simulator::new(&model),
                    |sim, (x, &want)| {
                        let run = sim.run(*x, &check_timesteps);
                        run.predictions
                            .iter()
                            .map(|&p| usize::from(p != want))
                            .collect()
                    },
                )
                .reduce(zero, |a: Vec<usize>, b| {
                    a.iter().zip(&b).map(|(x, y)| x + y).collect()
                });
            (t, wrong)
        })
        .collect();
    // The fewest disagreements over all run lengths; among equals, the
    // fewest at the shortest run (the transient is what calibration is
    // for), then the longest length.
    let best = (0..runs.len())
        .rev()
        .min_by_key(|&i| {
            (
                disagreements[i].1.iter().sum::<usize>(),
                disagreements[i].1.clone(),
            )
        })
        .expect("at least one length");
    Calibrated {
        h_layers: runs[best].clone(),
        timesteps: lengths[best],
        disagreements,
        checked: images.len(),
        check_timesteps,
    }
}

/// Where calibration chooses initial fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// One per layer, matching the layer's mean spike count per image.
    Layer,
    /// One per output channel, each minimising the summed absolute error of
    /// its neurons' spike counts (per image) against their targets: a
    /// channel's neurons share one V0 and so one transient, and channels
    /// of one layer differ in how early their input arrives (a residual
    /// add's channels, each mixing its two paths in its own proportion).
    Channel,
}

/// Per calibration image (the first `CALIBRATION_IMAGES`, at least one),
/// per layer, per neuron: the spike rate the CNN asks for, its activation
/// over the layer's scale clipped to its burst (`calibrate_h` clips it
/// further to what a run of its length can reach). The same for every
/// calibration length, so computed once.
fn target_rates(conversion: &Conversion, calib: ArrayView4<f32>) -> Vec<Vec<Vec<f32>>> {
    let n = CALIBRATION_IMAGES.min(calib.dim().0).max(1);
    (0..n)
        .into_par_iter()
        .map(|i| {
            let acts = reference::run_all(&conversion.folded, calib.index_axis(Axis(0), i));
            conversion
                .model
                .layers
                .iter()
                .zip(&conversion.layer_nodes)
                .map(|(layer, &node)| {
                    let c = layer.lambda.len();
                    acts[node]
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| (a / layer.lambda[i % c]).clamp(0.0, layer.burst as f32))
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// Each layer's initial fraction (the readout's and a gate's as they were),
/// chosen on the calibration images `targets` covers (the first ones) for
/// runs of `timesteps` steps: each neuron's target count is its rate
/// times `timesteps`.
fn calibrate_h(
    conversion: &Conversion,
    calib: ArrayView4<f32>,
    targets: &[Vec<Vec<f32>>],
    timesteps: usize,
    granularity: Granularity,
) -> Vec<InitialFraction> {
    let model = &conversion.model;
    let n = targets.len();
    let xs: Vec<_> = (0..n).map(|i| calib.index_axis(Axis(0), i)).collect();
    let t_f32 = timesteps as f32;
    // Per channel of layer `li` (channels last: neuron i is channel i % c),
    // summed over the images: (spikes - target) and |spikes - target|.
    let errors = |m: &SnnModel, li: usize| -> (Vec<f64>, Vec<f64>) {
        let c = m.layers[li].shape.channels();
        // A neuron fires once a step until bursts begin: a target beyond
        // what `timesteps` steps can reach would push V0 up for nothing.
        let reach = most_spikes(m.layers[li].burst, m.burst_after, timesteps) as f32 / t_f32;
        let zero = || (vec![0.0; c], vec![0.0; c]);
        (0..n)
            .into_par_iter()
            .map_init(
                || Simulator::new(m),
                |sim, j| {
                    sim.run(xs[j], &[timesteps]);
                    let (mut signed, mut abs) = zero();
                    for (i, (&k, &r)) in sim.counts()[li].iter().zip(&targets[j][li]).enumerate() {
                        let d = f64::from(k) - f64::from(r.min(reach) * t_f32);
                        signed[i % c] += d;
                        abs[i % c] += d.abs();
                    }
                    (signed, abs)
                },
            )
            .reduce(zero, |(mut s, mut a), (s2, a2)| {
                s.iter_mut().zip(&s2).for_each(|(x, y)| *x += y);
                a.iter_mut().zip(&a2).for_each(|(x, y)| *x += y);
                (s, a)
            })
    };
    let mut calibrated = model.clone();
    calibrated.h_layers = Some((0..model.layers.len()).map(|li| model.h_of(li)).collect());
    let set = |m: &mut SnnModel, li: usize, h: InitialFraction| {
        m.h_layers.as_mut().expect("set above")[li] = h;
    };
    for li in 0..model.layers.len() {
        if !matches!(model.layers[li].neurons, Neurons::IntegrateAndFire { .. }) {
            continue;
        }
        let c = model.layers[li].shape.channels();
        // Per channel: (error, fraction) of the best grid value so far.
        let mut best = vec![(f64::INFINITY, model.h_of(li).at(0)); c];
        let mut best_layer = (f64::INFINITY, model.h_of(li).at(0));
        for h in GRID {
            set(&mut calibrated, li, InitialFraction::Layer(h));
            let (signed, abs) = errors(&calibrated, li);
            let total = signed.iter().sum::<f64>().abs();
            if total < best_layer.0 {
                best_layer = (total, h);
            }
            for (b, &e) in best.iter_mut().zip(&abs) {
                if e < b.0 {
                    *b = (e, h);
                }
            }
        }
        let chosen = match granularity {
            Granularity::Layer => InitialFraction::Layer(best_layer.1),
            Granularity::Channel => InitialFraction::Channels(best.iter().map(|b| b.1).collect()),
        };
        set(&mut calibrated, li, chosen);
    }
    calibrated.h_layers.expect("set above")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_parse_sorted_and_distinct_and_refuse_zero_and_words() {
        assert_eq!("auto".parse::<Lengths>().unwrap(), Lengths::auto());
        assert_eq!("32, 16,32".parse::<Lengths>().unwrap().get(), &[16, 32]);
        assert_eq!("24".parse::<Lengths>().unwrap().get(), &[24]);
        let zero = "16,0".parse::<Lengths>().unwrap_err();
        assert!(zero.contains("must be positive"), "{zero}");
        let word = "fast".parse::<Lengths>().unwrap_err();
        assert!(word.contains("`fast`"), "{word}");
        assert!("".parse::<Lengths>().is_err());
    }
}
