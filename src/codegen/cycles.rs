//! The work bound of an image: the cycles a design needs for the work the
//! bit-accurate simulator says an input causes, in the overlapped schedule
//! (docs/hardware.md, "Cycles"). `snncc cosim` divides the measured cycles
//! by it; the difference is the pipelines' fill and drain, which this bound
//! leaves out on purpose.

use crate::snn::SpikeTrace;

use super::design::{Design, Engine, EngineKind, Geometry};

/// Cycles of one image's work, by part.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct WorkBound {
    /// The analog layer's clear sweep, then streaming the input in and its
    /// scatter, whichever is longer (replaying the input: the stream
    /// alone), or the merged engines' clears if longer.
    pub load: u64,
    /// Every beat: its slowest engine's scatter ops and group sweep.
    pub beats: u64,
    /// The read-out's scan for the class and its stream of values.
    pub readout: u64,
    /// Beats run.
    pub n_beats: u64,
}

impl WorkBound {
    pub fn total(&self) -> u64 {
        self.load + self.beats + self.readout
    }
}

/// The work bound of one input: `input` its raw words, `trace` its spikes
/// per layer and step (from the bit-accurate simulator), `steps` the
/// read-out's steps (the design's, or fewer where the early cutoff stops).
pub fn work_bound(design: &Design, input: &[i64], trace: &SpikeTrace, steps: usize) -> WorkBound {
    let engines = &design.engines;
    let first = &engines[0];
    // The analog layer's scatter, at the load or (replaying the input it
    // kept) at every step: one op per (non-zero input, tap word, output
    // group).
    let c_in = first.src.c.max(1);
    let load_ops: usize = input
        .iter()
        .enumerate()
        .filter(|(_, &x)| x != 0)
        .map(|(i, _)| words(first, i / c_in) * first.out.g)
        .sum();
    // Engines whose banks hold their membranes, and max gates, clear
    // them meanwhile.
    let clears = engines
        .iter()
        .filter(|e| e.clears_at_load())
        .map(Engine::clear_cycles)
        .max()
        .unwrap_or(0);
    // The load: the analog layer's clear sweep, then one input transfer
    // per cycle into its buffer.
    // (Keeping its current, the analog layer scatters as the input
    // arrives, once.)
    let replay = first.neurons().is_some_and(|n| n.replay);
    let stream = if replay {
        input.len()
    } else {
        load_ops.max(input.len())
    };
    let load = (first.lq_depth() + stream).max(clears) as u64;
    // The read-out's last step is in beat steps - 1 + (engines - 1); the
    // others run up to the design's steps in the meantime.
    let steps_run = steps.min(design.timesteps);
    let n_beats = steps_run + engines.len() - 1;
    let steps = design.timesteps;
    let mut beats = 0u64;
    for b in 0..n_beats {
        let slowest = engines
            .iter()
            .enumerate()
            .filter(|&(l, _)| b >= l && b - l < steps)
            .map(|(l, e)| {
                let t = b - l;
                // Each synapse group's source spikes at step t, with the
                // source's layout and where its pixels start in the
                // engine's routing (codegen::residual).
                let groups: Vec<(&[u32], Geometry, usize)> = match (&e.residual, l) {
                    (_, 0) => return engine_step(e, &[]) + if replay { load_ops } else { 0 },
                    (None, _) => vec![(&trace.layers[l - 1].spikes[t], e.src, 0)],
                    (Some(r), _) => vec![
                        (&trace.layers[l - 1].spikes[t], r.chained, 0),
                        (
                            &trace.layers[r.layer].spikes[t],
                            r.shortcut,
                            r.virtual_px(1, 0),
                        ),
                    ],
                };
                engine_step(e, &groups)
            })
            .max()
            .unwrap_or(0);
        beats += slowest as u64;
    }
    // Scans (after every step with a cutoff, else after the last) of one
    // value per cycle, and the stream of a value per transfer.
    let scans = if design.cutoff.is_some() {
        steps_run
    } else {
        1
    };
    let readout = ((scans + 1) * design.out_len()) as u64;
    WorkBound {
        load,
        beats,
        readout,
        n_beats: n_beats as u64,
    }
}

/// The mean work bound of several inputs, by part (cycles).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanWorkBound {
    pub load: f64,
    pub beats: f64,
    pub readout: f64,
    pub total: f64,
}

/// The mean of `work_bound` over `inputs` with their `traces` and the
/// read-out's `steps` each runs.
pub fn mean_work_bound(
    design: &Design,
    inputs: &[Vec<i64>],
    traces: &[SpikeTrace],
    steps: &[usize],
) -> MeanWorkBound {
    let n = inputs.len().max(1) as f64;
    let bounds: Vec<WorkBound> = inputs
        .iter()
        .zip(traces.iter().zip(steps))
        .map(|(x, (t, &s))| work_bound(design, x, t, s))
        .collect();
    let mean = |f: &dyn Fn(&WorkBound) -> u64| bounds.iter().map(|b| f(b) as f64).sum::<f64>() / n;
    MeanWorkBound {
        load: mean(&|b| b.load),
        beats: mean(&|b| b.beats),
        readout: mean(&|b| b.readout),
        total: mean(&|b| b.total()),
    }
}

/// Tap words of a source pixel.
fn words(e: &Engine, px: usize) -> usize {
    e.routing.offsets.get(px).map_or(0, |o| o.1)
}

/// Cycles of work of engine `e` in one step with each synapse
/// group's source spikes (neuron indices), the source's layout and the
/// group's first pixel in the routing tables (no groups for the analog
/// layer, whose scatter `work_bound` adds).
fn engine_step(e: &Engine, groups: &[(&[u32], Geometry, usize)]) -> usize {
    let scatter: usize = groups
        .iter()
        .map(|&(spikes, src, px_base)| match &e.kind {
            EngineKind::Neurons(n) if !n.depthwise => spikes
                .iter()
                .map(|&s| words(e, px_base + s as usize / src.c) * e.out.g)
                .sum::<usize>(),
            // Pooling and gates take a whole entry {px, g, mask} per op: a
            // group's entries a step are the most spikes one of its
            // neurons fired (burst spikes: one entry per lane mask).
            _ => {
                let mut neurons = spikes.to_vec();
                neurons.sort_unstable();
                let mut entries: std::collections::BTreeMap<(usize, usize), usize> =
                    Default::default();
                for run in neurons.chunk_by(|a, b| a == b) {
                    let s = run[0] as usize;
                    let (px, c) = (s / src.c, s % src.c);
                    let n = entries.entry((px, c / src.lanes)).or_default();
                    *n = (*n).max(run.len());
                }
                entries
                    .iter()
                    .map(|(&(px, _), &n)| n * words(e, px_base + px))
                    .sum()
            }
        })
        .sum();
    // (A gate has no sweep: it clears its counts while the input loads.)
    let sweep = match &e.kind {
        EngineKind::Neurons(_) => e.out.groups() * e.upd_ser,
        EngineKind::MaxGate => 0,
    };
    scatter + sweep
}

/// The spikes the hardware produces for an input whose read-out stops
/// after step `steps` (1-based): with layers overlapped in time, layer `l`
/// of `n` has run `steps + n - 1 - l` steps by then (at most all of them),
/// so its later spikes are cleared from the full trace `full`.
pub fn trace_as_run(full: &SpikeTrace, steps: usize) -> SpikeTrace {
    let n = full.layers.len();
    let mut trace = full.clone();
    for (l, layer) in trace.layers.iter_mut().enumerate() {
        let ran = (steps + n - 1 - l).min(full.timesteps);
        for s in layer.spikes.iter_mut().skip(ran) {
            s.clear();
        }
    }
    trace
}
