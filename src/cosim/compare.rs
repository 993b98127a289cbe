//! Comparing what a testbench printed with the bit-accurate simulator.

use std::collections::HashMap;

use crate::snn::SpikeTrace;

/// The first value that differs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub image: usize,
    pub neuron: usize,
    pub rtl: Option<i64>,
    pub expected: i64,
}

/// What a co-simulation found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CosimReport {
    pub images: usize,
    pub mismatches: usize,
    pub first_mismatch: Option<Mismatch>,
    /// Mean clock cycles per input: from the previous input's last output
    /// transfer (the first's: from reset) to its own (templates/tb.v).
    pub cycles_per_image: f64,
}

/// Compare the testbench's `OUT image neuron value` lines with `expected`
/// (per image, the readout's raw potentials); `CYCLES image n` lines give
/// the latency. A value the testbench never printed counts as a mismatch.
pub fn compare(output: &str, expected: &[Vec<i64>]) -> CosimReport {
    let mut got: Vec<Vec<Option<i64>>> = expected.iter().map(|e| vec![None; e.len()]).collect();
    let mut cycles = Vec::new();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["OUT", img, n, v] => {
                if let (Ok(img), Ok(n), Ok(v)) =
                    (img.parse::<usize>(), n.parse::<usize>(), v.parse::<i64>())
                {
                    if let Some(slot) = got.get_mut(img).and_then(|g| g.get_mut(n)) {
                        *slot = Some(v);
                    }
                }
            }
            ["CYCLES", _, c] => {
                if let Ok(c) = c.parse::<u64>() {
                    cycles.push(c);
                }
            }
            _ => {}
        }
    }
    let mut mismatches = 0;
    let mut first = None;
    for (image, (g, e)) in got.iter().zip(expected).enumerate() {
        for (neuron, (&rtl, &expected)) in g.iter().zip(e).enumerate() {
            if rtl != Some(expected) {
                mismatches += 1;
                first.get_or_insert(Mismatch {
                    image,
                    neuron,
                    rtl,
                    expected,
                });
            }
        }
    }
    CosimReport {
        images: expected.len(),
        mismatches,
        first_mismatch: first,
        cycles_per_image: if cycles.is_empty() {
            0.0
        } else {
            cycles.iter().sum::<u64>() as f64 / cycles.len() as f64
        },
    }
}

/// The first spike that differs between the RTL and the simulator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceMismatch {
    pub image: usize,
    pub layer: String,
    /// Time step, from 1.
    pub step: usize,
    pub neuron: u32,
    /// Whether the RTL fired this neuron (and the simulator did not), or
    /// the other way round.
    pub rtl_fired: bool,
}

/// Compare the `SPIKE step layer entry` lines of a traced run (after each
/// `IMAGE n` line) with the simulator's `traces`, one per input;
/// `decode(layer, entry)` gives the neurons of a spike entry (`None` for
/// an entry that cannot be decoded, which counts as a difference). Returns
/// the spikes compared and the first difference (earliest input, step,
/// layer, lowest neuron).
pub fn compare_trace(
    output: &str,
    traces: &[SpikeTrace],
    decode: &dyn Fn(usize, u128) -> Option<Vec<u32>>,
) -> (u64, Option<TraceMismatch>) {
    let mut rtl: Vec<HashMap<(usize, usize), Vec<u32>>> = vec![HashMap::new(); traces.len()];
    let mut image = None;
    let mut undecodable = None;
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["IMAGE", n] => image = n.parse::<usize>().ok().filter(|&i| i < traces.len()),
            ["SPIKE", step, layer, entry] => {
                let (Some(img), Ok(step), Ok(layer)) = (image, step.parse(), layer.parse()) else {
                    continue;
                };
                match u128::from_str_radix(entry, 16)
                    .ok()
                    .and_then(|e| decode(layer, e))
                {
                    Some(neurons) => rtl[img].entry((step, layer)).or_default().extend(neurons),
                    None => {
                        undecodable.get_or_insert((img, step, layer));
                    }
                }
            }
            _ => {}
        }
    }
    let mut compared = 0u64;
    for (img, (got, want)) in rtl.iter_mut().zip(traces).enumerate() {
        for step in 1..=want.timesteps {
            for (li, layer) in want.layers.iter().enumerate() {
                let mut expected = layer.spikes[step - 1].clone();
                expected.sort_unstable();
                let mut fired = got.remove(&(step, li)).unwrap_or_default();
                fired.sort_unstable();
                compared += expected.len() as u64;
                let mismatch = |neuron, rtl_fired| TraceMismatch {
                    image: img,
                    layer: layer.name.clone(),
                    step,
                    neuron,
                    rtl_fired,
                };
                if fired != expected {
                    let only_rtl = fired.iter().find(|n| expected.binary_search(n).is_err());
                    let only_sim = expected.iter().find(|n| fired.binary_search(n).is_err());
                    // A duplicated spike is on both sides: name it as the RTL's.
                    let (neuron, rtl_fired) = match (only_rtl, only_sim) {
                        (Some(&a), Some(&b)) if b < a => (b, false),
                        (Some(&a), _) => (a, true),
                        (None, Some(&b)) => (b, false),
                        (None, None) => (first_duplicate(&fired), true),
                    };
                    return (compared, Some(mismatch(neuron, rtl_fired)));
                }
                if undecodable == Some((img, step, li)) {
                    return (compared, Some(mismatch(u32::MAX, true)));
                }
            }
        }
        // Spikes at steps past the run (or of unknown layers).
        if let Some((&(step, li), neurons)) = got.iter().min_by_key(|(k, _)| **k) {
            return (
                compared,
                Some(TraceMismatch {
                    image: img,
                    layer: want
                        .layers
                        .get(li)
                        .map_or(format!("#{li}"), |l| l.name.clone()),
                    step,
                    neuron: neurons.iter().copied().min().unwrap_or(0),
                    rtl_fired: true,
                }),
            );
        }
    }
    (compared, None)
}

fn first_duplicate(sorted: &[u32]) -> u32 {
    sorted.windows(2).find(|w| w[0] == w[1]).map_or(0, |w| w[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::snn::{LayerTrace, Potentials};

    fn trace(spikes: Vec<Vec<Vec<u32>>>) -> SpikeTrace {
        SpikeTrace {
            timesteps: spikes[0].len(),
            layers: spikes
                .into_iter()
                .enumerate()
                .map(|(i, s)| LayerTrace {
                    name: format!("l{i}"),
                    neurons: 8,
                    spikes: s,
                    potentials: Potentials::None,
                })
                .collect(),
        }
    }

    #[test]
    fn traces_are_compared_as_sets_per_step_and_layer() {
        // Entries are plain neuron numbers here.
        let decode = |_: usize, e: u128| Some(vec![e as u32]);
        let want = [trace(vec![vec![vec![1, 3], vec![]], vec![vec![], vec![2]]])];
        let ok = "IMAGE 0\nSPIKE 1 0 3\nSPIKE 1 0 1\nSPIKE 2 1 2\n";
        assert_eq!(compare_trace(ok, &want, &decode), (3, None));
        let missing = "IMAGE 0\nSPIKE 1 0 3\nSPIKE 1 0 1\n";
        let (_, m) = compare_trace(missing, &want, &decode);
        let m = m.unwrap();
        assert_eq!(
            (m.step, m.layer.as_str(), m.neuron, m.rtl_fired),
            (2, "l1", 2, false)
        );
        let extra = "IMAGE 0\nSPIKE 1 0 3\nSPIKE 1 0 1\nSPIKE 1 0 1\nSPIKE 2 1 2\n";
        let m = compare_trace(extra, &want, &decode).1.unwrap();
        assert_eq!((m.step, m.neuron, m.rtl_fired), (1, 1, true));
        let late = "IMAGE 0\nSPIKE 1 0 3\nSPIKE 1 0 1\nSPIKE 2 1 2\nSPIKE 3 0 5\n";
        let m = compare_trace(late, &want, &decode).1.unwrap();
        assert_eq!((m.step, m.neuron), (3, 5));
    }

    #[test]
    fn compare_names_the_first_difference_and_missing_values() {
        let out = "CYCLES 0 100\nOUT 0 0 5\nOUT 0 1 -3\nCYCLES 1 120\nOUT 1 0 7\n";
        let r = compare(out, &[vec![5, -3], vec![7, 9]]);
        assert_eq!(r.mismatches, 1);
        assert_eq!(
            r.first_mismatch,
            Some(Mismatch {
                image: 1,
                neuron: 1,
                rtl: None,
                expected: 9
            })
        );
        assert_eq!(r.cycles_per_image, 110.0);
        let r = compare(out, &[vec![5, -4], vec![7]]);
        assert_eq!(r.first_mismatch.unwrap().rtl, Some(-3));
    }
}
