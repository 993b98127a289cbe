//! Applying a `QuantSpec` to a converted network: every weight, bias and
//! threshold rounded once (docs/fixed-point.md §3), the accumulator width
//! derived from the quantised weights, and the membrane range that `T`
//! steps can reach proven (§5).

use std::collections::BTreeSet;

use ndarray::{Array2, Array4};

use super::arith::{self, align};
use super::format::{bits_for_range, Overflow, QFormat, Rounding};
use super::model::{
    InputFormat, NeuronLayer, QConnection, QLayerKind, QNeurons, QSynapses, QuantLayer, QuantModel,
};
use super::spec::{LayerSpec, QuantSpec};
use super::QuantError;
use crate::ir::{window_range, Pad, Shape};
use crate::snn::{Bias, InitialFraction, Neurons, SnnLayer, SnnModel, Source, Synapses};

/// What quantising a layer found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LayerQuantReport {
    pub name: String,
    /// Weights, biases and thresholds outside their format (saturated or
    /// wrapped when rounded).
    pub clipped: u64,
    /// Range of one step's current, membrane units.
    pub current_range: (i128, i128),
    /// Range the membrane can reach within `timesteps` steps.
    pub membrane_range: (i128, i128),
    /// Bits that range needs (the membrane format may be narrower).
    pub membrane_bits_needed: u32,
}

/// A quantised network and what it took.
#[derive(Debug, Clone)]
pub struct Quantized {
    pub model: QuantModel,
    pub layers: Vec<LayerQuantReport>,
    /// Risks the user should know about (clipping, membranes narrower than
    /// the proven range).
    pub warnings: Vec<String>,
}

/// Round every parameter of `model` into the formats of `spec`.
pub fn quantize_model(model: &SnnModel, spec: &QuantSpec) -> Result<Quantized, QuantError> {
    super::check_network(model)?;
    check_layer_names(model, spec)?;
    let mut specs = spec.layers.iter();
    let mut layers = Vec::with_capacity(model.layers.len());
    let mut reports = Vec::new();
    let mut warnings = Vec::new();
    for (li, layer) in model.layers.iter().enumerate() {
        let kind = match layer.neurons {
            Neurons::MaxGate { size, strides, pad } => {
                let Some(Source::Layer(source)) = layer.gate_source else {
                    return Err(QuantError::Layer {
                        layer: layer.name.clone(),
                        reason: "a max gate without a spiking source".into(),
                    });
                };
                QLayerKind::MaxGate {
                    source,
                    size,
                    strides,
                    pad,
                }
            }
            _ => {
                let ls = specs.next().expect("names were checked against the model");
                let ctx = Ctx { model, spec, ls };
                let (n, report) = ctx.quantize_layer(layer, model.h_of(li))?;
                if report.clipped > 0 {
                    warnings.push(format!(
                        "{}: {} value(s) outside their format were {} (weights {}, bias {}, threshold {})",
                        layer.name,
                        report.clipped,
                        match spec.overflow {
                            Overflow::Saturate => "saturated",
                            Overflow::Wrap => "wrapped",
                        },
                        n.formats.weights,
                        n.formats.bias,
                        n.formats.threshold
                    ));
                }
                // Per-channel scales divide each output channel's weights by
                // its own scale; one weight format per layer then spans the
                // spread, and the channels with large scales lose its bits.
                let positive = layer.lambda.iter().filter(|&&l| l > 0.0);
                let (lo, hi) =
                    positive.fold((f32::INFINITY, 0f32), |(lo, hi), &l| (lo.min(l), hi.max(l)));
                if hi / lo > 8.0 {
                    warnings.push(format!(
                        "{}: its per-channel scales span a factor of {:.0}; its weights share one format, so about {:.0} of their {} bits are lost to the spread (per-layer scales, `--scales layer`, avoid it)",
                        layer.name,
                        hi / lo,
                        (hi / lo).log2().floor(),
                        n.formats.weights.bits()
                    ));
                }
                if report.membrane_bits_needed > n.formats.membrane.bits() {
                    warnings.push(format!(
                        "{}: the membrane ({} bits) can overflow within T={}: the provable range needs {} bits",
                        layer.name,
                        n.formats.membrane.bits(),
                        spec.timesteps,
                        report.membrane_bits_needed
                    ));
                }
                reports.push(report);
                QLayerKind::Neurons(n)
            }
        };
        layers.push(QuantLayer {
            name: layer.name.clone(),
            shape: layer.shape,
            kind,
        });
    }
    Ok(Quantized {
        model: QuantModel {
            name: model.name.clone(),
            input_shape: model.input_shape,
            input: spec.input,
            layers,
            rounding: spec.rounding,
            overflow: spec.overflow,
            timesteps: spec.timesteps,
            cnn_macs: model.cnn_macs,
            burst_after: model.burst_after,
        },
        layers: reports,
        warnings,
    })
}

/// Every layer with a datapath has exactly one spec, in order.
fn check_layer_names(model: &SnnModel, spec: &QuantSpec) -> Result<(), QuantError> {
    let expected: Vec<&str> = model
        .layers
        .iter()
        .filter(|l| !matches!(l.neurons, Neurons::MaxGate { .. }))
        .map(|l| l.name.as_str())
        .collect();
    for ls in &spec.layers {
        if !expected.contains(&ls.name.as_str()) {
            let gate = model.layers.iter().any(|l| l.name == ls.name);
            return Err(QuantError::UnknownLayer {
                name: ls.name.clone(),
                known: expected.join(", "),
                gate,
            });
        }
    }
    let given: Vec<&str> = spec.layers.iter().map(|l| l.name.as_str()).collect();
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|n| !given.contains(n))
        .collect();
    if !missing.is_empty() {
        return Err(QuantError::MissingLayers(missing.join(", ")));
    }
    if given != expected {
        return Err(QuantError::Order {
            expected: expected.join(", "),
        });
    }
    Ok(())
}

struct Ctx<'a> {
    model: &'a SnnModel,
    spec: &'a QuantSpec,
    ls: &'a LayerSpec,
}

/// Rounds values of one format, counting those that did not fit.
struct Rounder {
    scale: f64,
    format: QFormat,
    rounding: Rounding,
    overflow: Overflow,
    clipped: u64,
}

impl Rounder {
    fn new(scale: f64, format: QFormat, spec: &QuantSpec) -> Rounder {
        Rounder {
            scale: scale * 2f64.powi(format.frac() as i32),
            format,
            rounding: spec.rounding,
            overflow: spec.overflow,
            clipped: 0,
        }
    }

    fn raw(&mut self, x: f64) -> Option<i64> {
        let (raw, clipped) = arith::quantize(
            x,
            self.scale,
            self.format.bits(),
            self.rounding,
            self.overflow,
        )?;
        self.clipped += u64::from(clipped);
        Some(raw)
    }
}

impl Ctx<'_> {
    fn err(&self, reason: String) -> QuantError {
        QuantError::Layer {
            layer: self.ls.name.clone(),
            reason,
        }
    }

    fn quantize_layer(
        &self,
        layer: &SnnLayer,
        h: InitialFraction,
    ) -> Result<(NeuronLayer, LayerQuantReport), QuantError> {
        let f = self.ls.formats;
        let analog = layer.inputs.iter().any(|c| c.source == Source::Input);
        // Fractional bits of one synaptic term: a weight, or weight x input.
        let term_frac = f.weights.frac()
            + if analog {
                self.spec.input.format.frac()
            } else {
                0
            };
        let m = f.membrane.frac();
        for (what, frac) in [
            ("weights x input", term_frac),
            ("bias", f.bias.frac()),
            ("threshold", f.threshold.frac()),
        ] {
            if frac > m {
                return Err(self.err(format!(
                    "{what} have {frac} fractional bits but the membrane only {m}: \
                     the datapath only shifts left (docs/fixed-point.md §3); give the membrane at least {frac}"
                )));
            }
        }
        if !(self.ls.scale.is_finite() && self.ls.scale > 0.0) {
            return Err(self.err(format!(
                "scale must be a positive number, got {}",
                self.ls.scale
            )));
        }
        // Weights from the analog input absorb the input's scale, so that a
        // weight x input product is in this layer's units (§3).
        let w_scale = if analog {
            self.ls.scale / self.spec.input.scale
        } else {
            self.ls.scale
        };
        let mut wr = Rounder::new(w_scale, f.weights, self.spec);
        let mut inputs = Vec::with_capacity(layer.inputs.len());
        for (ci, conn) in layer.inputs.iter().enumerate() {
            let synapses = self
                .quantize_synapses(&conn.synapses, conn.source, layer.shape, &mut wr)
                .ok_or_else(|| self.err(format!("input {ci} has a non-finite weight")))?;
            inputs.push(QConnection {
                source: conn.source,
                synapses,
            });
        }
        let mut br = Rounder::new(self.ls.scale, f.bias, self.spec);
        let bias = match &layer.bias {
            Some(b) => {
                let raw = b
                    .values()
                    .iter()
                    .map(|&x| br.raw(f64::from(x)))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| self.err("a bias is not finite".into()))?;
                Some(match b {
                    Bias::Channel(_) => Bias::Channel(raw),
                    Bias::Neuron(_) => Bias::Neuron(raw),
                })
            }
            None => None,
        };
        let mut tr = Rounder::new(self.ls.scale, f.threshold, self.spec);
        let threshold = |tr: &mut Rounder, theta: f32| -> Result<i64, QuantError> {
            let raw = tr.raw(f64::from(theta)).unwrap_or(0);
            if raw <= 0 {
                return Err(self.err(format!(
                    "the threshold {theta} becomes {raw} in {} at scale {}: it must stay positive; \
                     raise the scale or the threshold's fractional bits",
                    f.threshold, self.ls.scale
                )));
            }
            Ok(raw)
        };
        let neurons = match layer.neurons {
            Neurons::IntegrateAndFire { threshold: t } => QNeurons::IntegrateAndFire {
                threshold: threshold(&mut tr, t)?,
            },
            Neurons::SpikeCountReadout { threshold: t } => QNeurons::SpikeCountReadout {
                threshold: threshold(&mut tr, t)?,
            },
            Neurons::Readout => QNeurons::Readout,
            Neurons::MaxGate { .. } => unreachable!("gates have no datapath"),
        };
        let theta_m = match neurons {
            QNeurons::IntegrateAndFire { threshold }
            | QNeurons::SpikeCountReadout { threshold } => {
                Some(align(threshold, f.threshold.frac(), m))
            }
            QNeurons::Readout => None,
        };
        let v0: Vec<i64> = h
            .values()
            .iter()
            .map(|&h| match theta_m {
                Some(t) => {
                    let v = arith::initial_potential(f64::from(h), t as i64, self.spec.rounding);
                    arith::fit(i128::from(v), f.membrane.bits(), self.spec.overflow).0
                }
                None => 0,
            })
            .collect();
        // The reachable range grows with V0 at both ends (§5): the
        // smallest and the largest of a layer's V0s bound it.
        let v0_lo = i128::from(*v0.iter().min().expect("at least one fraction"));
        let v0_hi = i128::from(*v0.iter().max().expect("at least one fraction"));
        let ((lo, hi), (sum_lo, sum_hi)) =
            self.current_range(&inputs, bias.as_ref(), layer, analog);
        // The hardware's current banks hold the synaptic sum without the
        // bias (the update adds it): the accumulator holds both.
        let (acc_lo, acc_hi) = (lo.min(sum_lo).min(0), hi.max(sum_hi).max(0));
        let accumulator_bits = bits_for_range(acc_lo, acc_hi).ok_or_else(|| {
            self.err(format!(
                "one step's current (with or without its bias) can reach [{acc_lo}, {acc_hi}], more than 64 bits hold; use narrower weights"
            ))
        })?;
        let membrane_range = {
            let t = self.spec.timesteps;
            let burst = (layer.burst, self.model.burst_after as usize);
            let low = membrane_range(theta_m, burst, v0_lo, (lo, hi), t);
            let high = membrane_range(theta_m, burst, v0_hi, (lo, hi), t);
            (low.0.min(high.0), low.1.max(high.1))
        };
        let membrane_bits_needed =
            bits_for_range(membrane_range.0, membrane_range.1).unwrap_or(u32::MAX);
        let report = LayerQuantReport {
            name: self.ls.name.clone(),
            clipped: wr.clipped + br.clipped + tr.clipped,
            current_range: (lo, hi),
            membrane_range,
            membrane_bits_needed,
        };
        Ok((
            NeuronLayer {
                neurons,
                inputs,
                bias,
                formats: f,
                scale: self.ls.scale,
                accumulator_bits,
                membrane_proven: membrane_bits_needed <= f.membrane.bits(),
                v0,
                burst: layer.burst,
            },
            report,
        ))
    }

    fn source_shape(&self, source: Source) -> Shape {
        match source {
            Source::Input => self.model.input_shape,
            Source::Layer(i) => self.model.layers[i].shape,
        }
    }

    fn quantize_synapses(
        &self,
        synapses: &Synapses,
        source: Source,
        out: Shape,
        wr: &mut Rounder,
    ) -> Option<QSynapses> {
        fn all(wr: &mut Rounder, xs: impl Iterator<Item = f32>) -> Option<Vec<i64>> {
            xs.map(|x| wr.raw(f64::from(x))).collect()
        }
        Some(match synapses {
            Synapses::Conv {
                kernel,
                strides,
                pad,
            } => QSynapses::Conv {
                kernel: Array4::from_shape_vec(kernel.dim(), all(wr, kernel.iter().copied())?)
                    .ok()?,
                strides: *strides,
                pad: *pad,
            },
            Synapses::Dense { kernel } => QSynapses::Dense {
                kernel: Array2::from_shape_vec(kernel.dim(), all(wr, kernel.iter().copied())?)
                    .ok()?,
            },
            Synapses::AvgPool {
                size,
                strides,
                pad,
                scale,
            } => {
                let n_max = size.0 * size.1;
                let present =
                    pool_window_sizes(self.source_shape(source), out, *size, *strides, *pad);
                let mut table = Vec::with_capacity(n_max * scale.len());
                for n in 1..=n_max {
                    for &s in scale {
                        table.push(wr_raw_counted(wr, f64::from(s) / n as f64, n, &present)?);
                    }
                }
                QSynapses::AvgPool {
                    size: *size,
                    strides: *strides,
                    pad: *pad,
                    weights: Array2::from_shape_vec((n_max, scale.len()), table).ok()?,
                }
            }
            Synapses::GlobalAvgPool { scale } => {
                let hw = self
                    .source_shape(source)
                    .dims()
                    .iter()
                    .rev()
                    .skip(1)
                    .product::<usize>();
                QSynapses::GlobalAvgPool {
                    weights: all(wr, scale.iter().map(|&s| s / hw.max(1) as f32))?,
                }
            }
            Synapses::Identity { scale } => QSynapses::Identity {
                weights: all(wr, scale.iter().copied())?,
            },
        })
    }

    /// Smallest and largest current of one step, membrane units, over all
    /// neurons of the layer and any input: per output channel, the bias plus
    /// every positive (or every negative) synaptic term of its fan-in; and
    /// the same without the bias (any partial sum of the terms lies there).
    fn current_range(
        &self,
        inputs: &[QConnection],
        bias: Option<&Bias<i64>>,
        layer: &SnnLayer,
        analog: bool,
    ) -> ((i128, i128), (i128, i128)) {
        let f = self.ls.formats;
        let m = f.membrane.frac();
        let channels = *layer.shape.dims().last().expect("a shape has a dimension");
        let (mut lo, mut hi) = (vec![0i128; channels], vec![0i128; channels]);
        // A term is weight x activity: activity is any value of the input
        // format for the analog input, and for spikes 0 to the source's
        // burst (a neuron's spikes of one step each add its weight).
        let activity = |source: Source| -> (i128, i128, u32) {
            match source {
                Source::Input => {
                    let q = self.spec.input.format;
                    (
                        i128::from(q.min_raw()),
                        i128::from(q.max_raw()),
                        f.weights.frac() + q.frac(),
                    )
                }
                Source::Layer(s) => (0, i128::from(self.model.layers[s].burst), f.weights.frac()),
            }
        };
        let mut add = |c: usize, (l, h): (i128, i128)| {
            lo[c] += l;
            hi[c] += h;
        };
        for conn in inputs {
            let (x_lo, x_hi, term_frac) = if analog {
                activity(Source::Input)
            } else {
                activity(conn.source)
            };
            // The range `n` terms of weight `w` can add.
            let term = |w: i64, n: usize| {
                let w = align(w, term_frac, m);
                let (a, b) = (w * x_lo, w * x_hi);
                (a.min(b).min(0) * n as i128, a.max(b).max(0) * n as i128)
            };
            match &conn.synapses {
                QSynapses::Conv { kernel, .. } => {
                    for ((_, _, _, co), &w) in kernel.indexed_iter() {
                        add(co, term(w, 1));
                    }
                }
                QSynapses::Dense { kernel } => {
                    for ((_, u), &w) in kernel.indexed_iter() {
                        add(u, term(w, 1));
                    }
                }
                QSynapses::AvgPool { weights, .. } => {
                    // A window of n inputs adds n terms of weights[n - 1];
                    // bound by the widest over all n.
                    for c in 0..channels {
                        let (l, h) = weights
                            .column(c)
                            .iter()
                            .enumerate()
                            .map(|(n1, &w)| term(w, n1 + 1))
                            .fold((0, 0), |(l, h), (a, b)| (l.min(a), h.max(b)));
                        add(c, (l, h));
                    }
                }
                QSynapses::GlobalAvgPool { weights } => {
                    let hw = self.source_shape(conn.source).len() / weights.len().max(1);
                    for (c, &w) in weights.iter().enumerate() {
                        add(c, term(w, hw));
                    }
                }
                QSynapses::Identity { weights } => {
                    for (c, &w) in weights.iter().enumerate() {
                        add(c, term(w, 1));
                    }
                }
            }
        }
        // Each channel's smallest and largest bias (a per-neuron bias
        // varies over the map's border).
        let (mut b_lo, mut b_hi) = (vec![i128::MAX; channels], vec![i128::MIN; channels]);
        match bias {
            Some(b) => {
                for (i, &v) in b.values().iter().enumerate() {
                    let (c, v) = (i % channels, align(v, f.bias.frac(), m));
                    b_lo[c] = b_lo[c].min(v);
                    b_hi[c] = b_hi[c].max(v);
                }
            }
            None => {
                b_lo.fill(0);
                b_hi.fill(0);
            }
        }
        let with_bias = (
            (0..channels).map(|c| lo[c] + b_lo[c]).min().unwrap_or(0),
            (0..channels).map(|c| hi[c] + b_hi[c]).max().unwrap_or(0),
        );
        let sum = (
            lo.iter().copied().min().unwrap_or(0),
            hi.iter().copied().max().unwrap_or(0),
        );
        (with_bias, sum)
    }
}

/// The in-bounds sizes of an average pool's windows that occur.
pub(super) fn pool_window_sizes(
    src: Shape,
    out: Shape,
    size: (usize, usize),
    strides: (usize, usize),
    pad: Pad,
) -> BTreeSet<usize> {
    let (src, out) = (src.dims(), out.dims());
    let (sh, sw, oh, ow) = (src[0], src[1], out[0], out[1]);
    let ys: BTreeSet<usize> = (0..oh)
        .map(|o| window_range(o, strides.0, size.0, pad.top, sh).len())
        .collect();
    let xs: BTreeSet<usize> = (0..ow)
        .map(|o| window_range(o, strides.1, size.1, pad.left, sw).len())
        .collect();
    ys.iter()
        .flat_map(|y| xs.iter().map(move |x| y * x))
        .collect()
}

fn wr_raw_counted(wr: &mut Rounder, x: f64, n: usize, present: &BTreeSet<usize>) -> Option<i64> {
    // Window sizes that never occur still get a table entry (hardware
    // indexes by size), but only those that occur count as clipped.
    let before = wr.clipped;
    let raw = wr.raw(x)?;
    if !present.contains(&n) {
        wr.clipped = before;
    }
    Some(raw)
}

/// The membrane's reachable range within `t` steps (docs/fixed-point.md §5),
/// given one step's current range and, for IF neurons, the threshold and
/// the burst `(B, K)` (the most spikes a step, from step `K + 1` on; one
/// before): after step `s` `V <= max(V0, theta - 1) + sum of max(0, I+ -
/// B_s theta)` over the steps so far (a neuron that fired fewer than `B_s`
/// times is below theta) and `V >= min(V0, 0) - t * I-`; the largest value
/// before firing adds `I+` to the bound after `t - 1` steps.
pub fn membrane_range(
    theta: Option<i128>,
    (burst, after): (u32, usize),
    v0: i128,
    (i_lo, i_hi): (i128, i128),
    t: usize,
) -> (i128, i128) {
    let t = t.max(1);
    let (up, down) = (i_hi.max(0), (-i_lo).max(0));
    match theta {
        Some(theta) => {
            let settled = v0.max(theta - 1);
            let single = (t - 1).min(after) as i128;
            let bursting = (t - 1) as i128 - single;
            let hi = settled
                + up
                + single * (up - theta).max(0)
                + bursting * (up - i128::from(burst) * theta).max(0);
            (v0.min(0) - t as i128 * down, hi.max(theta))
        }
        None => (v0.min(0) - t as i128 * down, v0.max(0) + t as i128 * up),
    }
}

impl InputFormat {
    /// Raw input value (docs/fixed-point.md §3): the same rounding and
    /// overflow policies as every parameter.
    pub fn raw(&self, x: f32, rounding: Rounding, overflow: Overflow) -> (i64, bool) {
        let scale = self.scale * 2f64.powi(self.format.frac() as i32);
        arith::quantize(f64::from(x), scale, self.format.bits(), rounding, overflow)
            .unwrap_or((0, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membrane_range_of_if_and_readout() {
        // theta 10, V0 5, currents in [-3, 4]: never above theta - 1 + 4.
        assert_eq!(membrane_range(Some(10), (1, 0), 5, (-3, 4), 8), (-24, 13));
        // Currents above theta: V climbs by I+ - theta per step.
        assert_eq!(
            membrane_range(Some(10), (1, 0), 0, (0, 12), 5),
            (0, 9 + 12 + 4 * 2)
        );
        // Unless a burst of two takes 2 theta a step: it settles.
        assert_eq!(membrane_range(Some(10), (2, 0), 0, (0, 12), 5), (0, 9 + 12));
        // Up to 25 a step with a burst of two: V climbs by 5 a step.
        assert_eq!(
            membrane_range(Some(10), (2, 0), 0, (0, 25), 5),
            (0, 9 + 25 + 4 * 5)
        );
        // Bursts from step 4 on: three steps (the bound after steps 1-3)
        // climb by 15, the fourth (step 4) by 5, before step 5's current.
        assert_eq!(
            membrane_range(Some(10), (2, 3), 0, (0, 25), 5),
            (0, 9 + 25 + 3 * 15 + 5)
        );
        // Bursts that begin after the run: one spike a step throughout.
        assert_eq!(
            membrane_range(Some(10), (2, 32), 0, (0, 12), 5),
            membrane_range(Some(10), (1, 0), 0, (0, 12), 5)
        );
        // Readout: sums of currents.
        assert_eq!(membrane_range(None, (1, 0), 0, (-2, 3), 10), (-20, 30));
    }
}
