//! Choosing each engine's lanes, slots and update units. As many lanes as
//! the layer's channels need makes small late layers as wide as the first
//! ones, and every lane and slot is an adder with its forwarding and every
//! lane an IF unit. An engine can be narrower at little cost in time when
//! its work stays under the slowest engine's in most beats, so the design
//! is narrowed step by step, each step the one that saves the most logic
//! (`logic_estimate`) per cycle it adds, while the mean work bound of
//! sample inputs stays within `slack` of the widest design's
//! (docs/hardware.md, "Choosing lanes, slots and update units").

use crate::quant::QuantModel;
use crate::snn::SpikeTrace;

use super::blocks::total_blocks;
use super::cycles::mean_work_bound;
use super::design::{design, Design, DesignError, DesignOptions, Engine};

/// Per layer: lanes (a power of two, at most `options.lanes`), slots and
/// update cycles per group that use the least logic while keeping the mean
/// work bound of `inputs` (raw input words) with `traces` (their spikes)
/// and `steps` (the read-out's steps each runs) within `slack` (a
/// fraction) of the widest, fastest design's. With `max_blocks`, the
/// design is first narrowed until its block RAM estimate
/// (`codegen::total_blocks`) is within it, each step the one that saves
/// the most blocks per cycle it adds, whatever that costs in time (a design
/// that does not fit the device is no design); the logic steps that follow
/// add no block and no cycle beyond the slack or what the fit took.
pub fn balance_lanes(
    model: &QuantModel,
    options: &DesignOptions,
    (inputs, traces, steps): (&[Vec<i64>], &[SpikeTrace], &[usize]),
    slack: f64,
    max_blocks: Option<usize>,
) -> Result<Balance, DesignError> {
    let build = |c: &Balance, slots: bool| {
        design(
            model,
            &DesignOptions {
                layer_lanes: Some(c.lanes.clone()),
                layer_serial: Some(c.serial.clone()),
                layer_slots: slots.then(|| c.slots.clone()),
                replay_input: c.replay,
                ..options.clone()
            },
        )
    };
    let mean_bound = |d: &Design| mean_work_bound(d, inputs, traces, steps).total;
    let widest = design(
        model,
        &DesignOptions {
            layer_lanes: None,
            layer_serial: None,
            layer_slots: None,
            ..options.clone()
        },
    )?;
    let mut chosen = Balance {
        lanes: widest.engines.iter().map(Engine::lanes).collect(),
        serial: vec![1; widest.engines.len()],
        slots: widest.engines.iter().map(Engine::slots).collect(),
        logic_saved: 0,
        bound_growth: 0.0,
        blocks: total_blocks(&widest),
        replay: options.replay_input,
    };
    let base = mean_bound(&widest);
    // A step that costs (almost) no cycles is worth its saving over this
    // many cycles (so the cheapest of the free steps come first).
    let free = (base * 1e-3).max(1e-9);
    // Of every single narrowing step from `from` whose design `allowed`
    // accepts (with its bound), the one that saves the most of `measure`
    // per cycle it adds (greedy by absolute saving would spend the slack on
    // one big step): (saving, bound, blocks, step).
    type Step = (u64, f64, usize, Balance);
    let best_step = |from: &Balance,
                     fitting: bool,
                     bound: f64,
                     measure: &dyn Fn(&Design) -> u64,
                     allowed: &dyn Fn(&Design, f64) -> bool|
     -> Result<Option<Step>, DesignError> {
        let current = measure(&build(from, true)?);
        let mut best: Option<(f64, Step)> = None;
        for li in 0..from.lanes.len() {
            let mut trials = steps_of(&widest.engines[li], from, li);
            // Fitting the block RAM may also replay the analog input.
            if fitting && widest.engines[li].is_analog() && !from.replay {
                trials.push(Balance {
                    replay: true,
                    ..from.clone()
                });
            }
            for trial in trials {
                // Halved lanes: the engine takes the slots that suit them.
                let (d, trial) = if trial.lanes[li] != from.lanes[li] {
                    let mut t = trial.clone();
                    t.slots[li] = build(&t, false)?.engines[li].slots();
                    (build(&t, true)?, t)
                } else {
                    (build(&trial, true)?, trial)
                };
                let saved = current.saturating_sub(measure(&d));
                if saved == 0 {
                    continue;
                }
                let b = mean_bound(&d);
                let worth = saved as f64 / ((b - bound).max(0.0) + free);
                if allowed(&d, b) && best.as_ref().is_none_or(|(w, _)| worth > *w) {
                    best = Some((worth, (saved, b, total_blocks(&d), trial)));
                }
            }
        }
        Ok(best.map(|(_, step)| step))
    };
    let take = |chosen: &mut Balance, (_, b, blocks, next): Step, saved_logic: u64| {
        *chosen = Balance {
            logic_saved: chosen.logic_saved + saved_logic,
            bound_growth: b / base - 1.0,
            blocks,
            ..next
        };
    };
    let bound = |c: &Balance| base * (1.0 + c.bound_growth);
    if let Some(max) = max_blocks {
        let blocks = |d: &Design| total_blocks(d) as u64;
        while chosen.blocks > max {
            let Some(step) = best_step(&chosen, true, bound(&chosen), &blocks, &|_, _| true)?
            else {
                break;
            };
            let logic = |c: &Balance| build(c, true).map(|d| logic_estimate(&d));
            let saved_logic = logic(&chosen)?.saturating_sub(logic(&step.3)?);
            take(&mut chosen, step, saved_logic);
        }
    }
    if inputs.is_empty() {
        return Ok(chosen);
    }
    let limit = (base * (1.0 + slack.max(0.0))).max(bound(&chosen));
    let block_limit = chosen.blocks.max(max_blocks.unwrap_or(0));
    let logic = |d: &Design| logic_estimate(d);
    while let Some(step) = best_step(&chosen, false, bound(&chosen), &logic, &|d, b| {
        b <= limit && (max_blocks.is_none() || total_blocks(d) <= block_limit)
    })? {
        let saved = step.0;
        take(&mut chosen, step, saved);
    }
    Ok(chosen)
}

/// The narrowing steps of engine `li` from `c`: half the lanes, one slot
/// fewer, twice the update cycles (a pooling engine keeps its source's
/// lanes, a max gate has no update).
fn steps_of(widest: &Engine, c: &Balance, li: usize) -> Vec<Balance> {
    let mut out = Vec::new();
    if !widest.is_depthwise() && !widest.is_gate() && c.lanes[li] > 1 {
        let mut t = c.clone();
        t.lanes[li] /= 2;
        t.serial[li] = t.serial[li].min(t.lanes[li]);
        out.push(t);
    }
    if c.slots[li] > 1 {
        let mut t = c.clone();
        t.slots[li] -= 1;
        out.push(t);
    }
    if !widest.is_gate() && c.serial[li] * 2 <= c.lanes[li] {
        let mut t = c.clone();
        t.serial[li] *= 2;
        out.push(t);
    }
    out
}

/// An estimate of the LUT4s of a design's parts the balance changes,
/// fitted to Yosys `synth_ecp5` on the bundled examples: per lane and slot
/// the scatter's term, forwarding multiplexer and adder; per IF unit the
/// current (bias + bank), the sum and the fit; the update's chunk
/// multiplexers (update cycles > 1) and the multiplexer over the banks.
/// The walker, FIFOs and control do not depend on the choices.
pub fn logic_estimate(design: &Design) -> u64 {
    design
        .engines
        .iter()
        .map(|e| {
            let lanes = e.lanes() as u64;
            let slots = e.slots() as u64;
            let a = u64::from(e.acc_bits());
            let m = u64::from(e.membrane_bits());
            let c = u64::from(e.count_bits);
            let (w, analog) = e
                .neurons()
                .map_or((0, false), |n| (u64::from(n.w_bits), n.analog));
            // A product comes from a multiplier block, a weight through an
            // AND with its spike.
            let term = if analog { 0 } else { w };
            // Three writes forwarded from block RAM banks, one from
            // distributed RAM (`Engine::fast_bank`).
            let forward = if e.fast_bank() { a } else { 2 * a };
            let scatter = lanes * slots * (term + a + forward);
            if e.is_gate() {
                return scatter;
            }
            let ser = e.upd_ser.max(1) as u64;
            let units = lanes / ser;
            let fit = if e.saturates() { 3 * m } else { 2 * m };
            let update = units * (a + a.max(m) + 1 + fit + c);
            // A k-way AND-OR multiplexer costs about 2k/3 LUT4 per bit.
            let mux = |k: u64, bits: u64| if k > 1 { bits * 2 * k / 3 } else { 0 };
            update + mux(ser, units * (m + 2 * a + c)) + mux(slots, lanes * a)
        })
        .sum()
}

/// What `balance_lanes` chose, per layer, and what it gained and cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub lanes: Vec<usize>,
    /// Update cycles per group.
    pub serial: Vec<usize>,
    pub slots: Vec<usize>,
    /// LUT4 saved against the widest design (`logic_estimate`).
    pub logic_saved: u64,
    /// The mean work bound's growth against the widest design (0.05 = 5 %).
    pub bound_growth: f64,
    /// Block RAMs of the chosen design (`codegen::total_blocks`).
    pub blocks: usize,
    /// The analog layer replays its input (`DesignOptions::replay_input`).
    pub replay: bool,
}
