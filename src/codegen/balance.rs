//! Choosing each engine's lanes, slots and update units: as many lanes as
//! the layer's channels need makes
//! small late layers as wide as the first ones, and every lane is an IF
//! unit and an adder. An engine can be narrower without costing a cycle
//! when its work stays under the slowest engine's in every beat, so the
//! lanes are halved, layer by layer, while the work bound of sample inputs
//! grows by no more than `TOLERANCE` (docs/hardware.md, "Lanes").

use crate::quant::QuantModel;
use crate::snn::SpikeTrace;

use super::cycles::work_bound;
use super::design::{design, DesignError, DesignOptions};

/// How much slower (in the work bound) a narrower design may be.
pub const TOLERANCE: f64 = 0.02;

/// Per layer: the fewest lanes (a power of two, at most `options.lanes`)
/// and then the most update cycles per group (fewest IF units) that keep
/// the mean work bound of `inputs` (raw input words) with `traces` (their
/// spikes) and `steps` (the read-out's steps each runs) within `TOLERANCE`
/// of the widest, fastest design's.
pub fn balance_lanes(
    model: &QuantModel,
    options: &DesignOptions,
    inputs: &[Vec<i64>],
    traces: &[SpikeTrace],
    steps: &[usize],
) -> Result<Balance, DesignError> {
    let mean_bound =
        |lanes: &[usize], serial: &[usize], slots: Option<&[usize]>| -> Result<f64, DesignError> {
            let d = design(
                model,
                &DesignOptions {
                    layer_lanes: Some(lanes.to_vec()),
                    layer_serial: Some(serial.to_vec()),
                    layer_slots: slots.map(<[usize]>::to_vec),
                    ..options.clone()
                },
            )?;
            let n = inputs.len().max(1) as f64;
            Ok(inputs
                .iter()
                .zip(traces.iter().zip(steps))
                .map(|(x, (t, &s))| work_bound(&d, x, t, s).total() as f64)
                .sum::<f64>()
                / n)
        };
    let widest = design(
        model,
        &DesignOptions {
            layer_lanes: None,
            layer_serial: None,
            layer_slots: None,
            ..options.clone()
        },
    )?;
    let mut lanes: Vec<usize> = widest.engines.iter().map(|e| e.lanes()).collect();
    let mut serial = vec![1; lanes.len()];
    if inputs.is_empty() {
        let slots = widest.engines.iter().map(|e| e.slots()).collect();
        return Ok(Balance {
            lanes,
            serial,
            slots,
        });
    }
    let limit = mean_bound(&lanes, &serial, None)? * (1.0 + TOLERANCE);
    // Later layers first: they are the smallest, so the likeliest to idle.
    for li in (0..lanes.len()).rev() {
        if widest.engines[li].is_depthwise() || widest.engines[li].is_gate() {
            continue;
        }
        while lanes[li] > 1 {
            let mut trial = lanes.clone();
            trial[li] /= 2;
            if mean_bound(&trial, &serial, None)? <= limit {
                lanes = trial;
            } else {
                break;
            }
        }
    }
    // Then fewer IF units where the sweep has time to spare (pooling
    // engines too: their lanes are their source's), and fewer taps per
    // cycle where the scatter has.
    let narrowed = design(
        model,
        &DesignOptions {
            layer_lanes: Some(lanes.clone()),
            layer_serial: None,
            layer_slots: None,
            ..options.clone()
        },
    )?;
    let mut slots: Vec<usize> = narrowed.engines.iter().map(|e| e.slots()).collect();
    for li in (0..slots.len()).rev() {
        while slots[li] > 1 {
            let mut trial = slots.clone();
            trial[li] -= 1;
            if mean_bound(&lanes, &serial, Some(&trial))? <= limit {
                slots = trial;
            } else {
                break;
            }
        }
    }
    for li in (0..lanes.len()).rev() {
        let e = &narrowed.engines[li];
        if e.is_gate() {
            continue;
        }
        while serial[li] < e.lanes() {
            let mut trial = serial.clone();
            trial[li] *= 2;
            if mean_bound(&lanes, &trial, Some(&slots))? <= limit {
                serial = trial;
            } else {
                break;
            }
        }
    }
    Ok(Balance {
        lanes,
        serial,
        slots,
    })
}

/// What `balance_lanes` chose, per layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub lanes: Vec<usize>,
    /// Update cycles per group.
    pub serial: Vec<usize>,
    pub slots: Vec<usize>,
}
