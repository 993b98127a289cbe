//! Activation statistics on calibration data (ECC technique 2): the scale
//! `lambda` of each spiking layer, per layer or per channel, as the maximum
//! or a percentile of the positive activations of the folded CNN.
//!
//! Two passes keep memory independent of the calibration set's size: the
//! first finds each channel's maximum, the second fills a fixed histogram
//! per channel, from which percentiles are read (resolution max / BINS).

use ndarray::{Array3, ArrayView4, Axis};
use rayon::prelude::*;

use crate::ir::{Graph, NodeId};
use crate::reference;

/// How lambda is chosen from the activations.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    /// The maximum (SpKeras).
    Max,
    /// A percentile of the positive activations, e.g. 99.9 (Rueckauer et
    /// al. 2017: robust to outliers).
    Percentile(f64),
}

impl Norm {
    pub fn label(&self) -> String {
        match self {
            Norm::Max => "max".into(),
            Norm::Percentile(p) => format!("p{p}"),
        }
    }
}

const BINS: usize = 4096;

/// What the calibration data says of one node's activations.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The scale per channel (with `per_channel == false` every channel
    /// has the node's).
    pub lambda: Vec<f32>,
    /// The largest activation per channel (0 where it never activates).
    pub max: Vec<f32>,
}

impl Measured {
    /// The most spikes per step a neuron needs for its rate limit to hold
    /// every calibration activation unclipped: the largest
    /// `ceil(max[c] / lambda[c])`, at least 1.
    pub fn burst_needed(&self) -> u32 {
        self.max
            .iter()
            .zip(&self.lambda)
            // The ratio is rounded to f32 precision first: a max that is
            // the scale itself (`--norm max`) is one spike, not two.
            .map(|(&m, &l)| ((m / l) * (1.0 - 1e-6)).ceil().max(1.0))
            .fold(1.0f32, f32::max)
            .min(u32::MAX as f32) as u32
    }
}

/// Lambda and maximum per channel for each requested node, in the order
/// given.
pub fn measure(
    graph: &Graph,
    calib: ArrayView4<f32>,
    nodes: &[NodeId],
    norm: Norm,
    per_channel: bool,
) -> Vec<Measured> {
    let maxima = measure_maxima(graph, calib, nodes);
    let lambdas = lambdas_from(graph, calib, nodes, norm, per_channel, &maxima);
    lambdas
        .into_iter()
        .zip(maxima)
        .map(|(lambda, max)| Measured { lambda, max })
        .collect()
}

/// Pass 1: the largest activation per channel of each node.
fn measure_maxima(graph: &Graph, calib: ArrayView4<f32>, nodes: &[NodeId]) -> Vec<Vec<f32>> {
    let channels: Vec<usize> = nodes
        .iter()
        .map(|&n| graph.node(n).shape.channels())
        .collect();
    fold_over(
        graph,
        calib,
        nodes,
        &channels,
        |acts, acc: &mut Vec<Vec<f32>>| {
            for ((a, m), _) in acts.iter().zip(acc.iter_mut()).zip(&channels) {
                for lane in a.lanes(Axis(2)) {
                    for (c, &v) in lane.iter().enumerate() {
                        if v > m[c] {
                            m[c] = v;
                        }
                    }
                }
            }
        },
        |a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    *p = p.max(q);
                }
            }
        },
        || channels.iter().map(|&c| vec![0f32; c]).collect(),
    )
}

/// Lambda per channel for each node from its maxima (`Norm::Max`) or a
/// histogram over `[0, max]` (pass 2, a percentile).
fn lambdas_from(
    graph: &Graph,
    calib: ArrayView4<f32>,
    nodes: &[NodeId],
    norm: Norm,
    per_channel: bool,
    maxima: &[Vec<f32>],
) -> Vec<Vec<f32>> {
    let channels: Vec<usize> = maxima.iter().map(Vec::len).collect();
    let pooled_max = |m: &Vec<f32>| m.iter().copied().fold(0f32, f32::max);
    let Norm::Percentile(p) = norm else {
        return maxima
            .iter()
            .map(|m| {
                if per_channel {
                    m.iter().map(|&v| positive_or_one(v)).collect()
                } else {
                    vec![positive_or_one(pooled_max(m)); m.len()]
                }
            })
            .collect();
    };
    // Pass 2: histograms over [0, max] (per channel, or pooled per layer).
    let ranges: Vec<Vec<f32>> = maxima
        .iter()
        .map(|m| {
            if per_channel {
                m.clone()
            } else {
                vec![pooled_max(m)]
            }
        })
        .collect();
    let hist_channels: Vec<usize> = ranges.iter().map(Vec::len).collect();
    let hists = fold_over(
        graph,
        calib,
        nodes,
        &channels,
        |acts, acc: &mut Vec<Vec<Vec<u64>>>| {
            for ((a, h), range) in acts.iter().zip(acc.iter_mut()).zip(&ranges) {
                for lane in a.lanes(Axis(2)) {
                    for (c, &v) in lane.iter().enumerate() {
                        if v > 0.0 {
                            let k = if per_channel { c } else { 0 };
                            let bin = ((v / range[k]) * BINS as f32) as usize;
                            h[k][bin.min(BINS - 1)] += 1;
                        }
                    }
                }
            }
        },
        |a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                for (p, q) in x.iter_mut().zip(y) {
                    for (s, t) in p.iter_mut().zip(q) {
                        *s += t;
                    }
                }
            }
        },
        || {
            hist_channels
                .iter()
                .map(|&c| vec![vec![0u64; BINS]; c])
                .collect()
        },
    );
    hists
        .iter()
        .zip(&ranges)
        .zip(&channels)
        .map(|((h, range), &c)| {
            let per: Vec<f32> = h
                .iter()
                .zip(range)
                .map(|(bins, &max)| positive_or_one(percentile(bins, max, p)))
                .collect();
            if per_channel {
                per
            } else {
                vec![per[0]; c]
            }
        })
        .collect()
}

/// A channel that never activates gets scale 1: any value works, and 1
/// avoids dividing by zero.
fn positive_or_one(v: f32) -> f32 {
    if v > 0.0 && v.is_finite() {
        v
    } else {
        1.0
    }
}

/// Upper edge of the bin holding the p-th percentile.
fn percentile(bins: &[u64], max: f32, p: f64) -> f32 {
    let total: u64 = bins.iter().sum();
    if total == 0 {
        return 0.0;
    }
    // The epsilon keeps 99.9 % of 1000 at rank 999 despite 0.999 * 1000 > 999
    // in floating point.
    let rank = ((p / 100.0) * total as f64 - 1e-9).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, &n) in bins.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return max * (i + 1) as f32 / BINS as f32;
        }
    }
    max
}

/// Run the graph on every calibration image in parallel, folding the
/// activations of `nodes` into an accumulator per worker, then merging.
fn fold_over<A: Send>(
    graph: &Graph,
    calib: ArrayView4<f32>,
    nodes: &[NodeId],
    _channels: &[usize],
    add: impl Fn(&[Array3<f32>], &mut A) + Sync,
    merge: impl Fn(&mut A, A) + Sync,
    init: impl Fn() -> A + Sync,
) -> A {
    (0..calib.dim().0)
        .into_par_iter()
        .fold(&init, |mut acc, i| {
            let all = reference::run_all(graph, calib.index_axis(Axis(0), i));
            let picked: Vec<Array3<f32>> = nodes.iter().map(|&n| all[n].clone()).collect();
            add(&picked, &mut acc);
            acc
        })
        .reduce(&init, |mut a, b| {
            merge(&mut a, b);
            a
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_reads_the_bin_edge() {
        let mut bins = vec![0u64; BINS];
        bins[0] = 999;
        bins[BINS - 1] = 1;
        // 99.9 % of 1000 values lie in the first bin.
        assert!((percentile(&bins, 4.0, 99.9) - 4.0 / BINS as f32).abs() < 1e-6);
        assert_eq!(percentile(&bins, 4.0, 100.0), 4.0);
    }
}
