//! Automatic formats (docs/fixed-point.md §5): weights use their whole
//! range, threshold and bias share the weights' unit, and the membrane is
//! exactly as wide as the range `T` steps can provably reach, so no
//! overflow can happen.

use super::build::{pool_window_sizes, quantize_model};
use super::format::{bits_for_range, QFormat};
use super::model::{InputFormat, LayerFormats};
use super::spec::{LayerSpec, QuantOptions, QuantSpec};
use super::QuantError;
use crate::ir::Shape;
use crate::snn::{Connection, Neurons, SnnModel, Source, Synapses};

/// Propose a quantisation of `model` for `options`.
pub fn choose_formats(model: &SnnModel, options: &QuantOptions) -> Result<QuantSpec, QuantError> {
    super::check_network(model)?;
    let weight_bits = options.weight_bits;
    let wq = QFormat::new(weight_bits, weight_bits - weight_bits.min(1))
        .map_err(|e| QuantError::Option(format!("--bits {weight_bits}: {e}")))?;
    if weight_bits < 2 {
        return Err(QuantError::Option(format!(
            "--bits {weight_bits}: weights need at least 2 bits (a sign and a magnitude)"
        )));
    }
    let iq = QFormat::new(options.input_bits, options.input_bits.saturating_sub(1))
        .map_err(|e| QuantError::Option(format!("--input-bits {}: {e}", options.input_bits)))?;
    let [lo, hi] = model.input_range.ok_or(QuantError::NoInputRange)?;
    let peak = f64::from(lo.abs().max(hi.abs()));
    // The largest |x| lands on the largest raw value: x * scale * 2^frac.
    let full = |q: QFormat| q.max_raw() as f64 / 2f64.powi(q.frac() as i32);
    let input = InputFormat {
        format: iq,
        scale: full(iq) / if peak > 0.0 { peak } else { 1.0 },
    };
    // First pass: scales and weight formats; everything else 64 bits wide
    // at the shared fractional bits, to measure what the values need.
    let mut layers = Vec::new();
    for layer in &model.layers {
        if matches!(layer.neurons, Neurons::MaxGate { .. }) {
            continue;
        }
        let analog = layer.inputs.iter().any(|c| c.source == Source::Input);
        let peak_w = layer
            .inputs
            .iter()
            .map(|c| peak_weight(model, c, layer.shape))
            .fold(0.0, f64::max);
        let mut scale = full(wq) / if peak_w > 0.0 { peak_w } else { 1.0 };
        if analog {
            scale *= input.scale;
        }
        let m = wq.frac() + if analog { iq.frac() } else { 0 };
        // The analog layer's products carry the weights' and the input's
        // fractional bits together: at most 63 of a 64-bit word.
        let wide = QFormat::new(64, m).map_err(|_| {
            QuantError::Option(format!(
                "--bits {weight_bits} with --input-bits {}: layer {}'s products need {m} fractional bits, more than the 63 a 64-bit datapath holds",
                options.input_bits, layer.name
            ))
        })?;
        layers.push(LayerSpec {
            name: layer.name.clone(),
            scale,
            formats: LayerFormats {
                weights: wq,
                bias: wide,
                threshold: wide,
                membrane: wide,
            },
        });
    }
    let mut spec = QuantSpec {
        rounding: options.rounding,
        overflow: options.overflow,
        timesteps: options.timesteps,
        input,
        layers,
    };
    let measured = quantize_model(model, &spec)?;
    // Second pass: each width as small as its values allow.
    let datapath_layers = measured.model.layers.iter().filter_map(|l| match &l.kind {
        super::model::QLayerKind::Neurons(n) => Some(n),
        super::model::QLayerKind::MaxGate { .. } => None,
    });
    for ((ls, n), report) in spec
        .layers
        .iter_mut()
        .zip(datapath_layers)
        .zip(&measured.layers)
    {
        let m = ls.formats.membrane.frac();
        let too_wide = |what: &str| QuantError::Layer {
            layer: ls.name.clone(),
            reason: format!("its {what} needs more than 64 bits; use fewer weight bits"),
        };
        let bias_bits = n
            .bias
            .as_ref()
            .map(|b| {
                let lo = b.values().iter().copied().min().unwrap_or(0);
                let hi = b.values().iter().copied().max().unwrap_or(0);
                bits_for_range(lo.into(), hi.into())
            })
            .unwrap_or(Some(1))
            .ok_or_else(|| too_wide("bias"))?;
        let theta = match n.neurons {
            super::model::QNeurons::IntegrateAndFire { threshold }
            | super::model::QNeurons::SpikeCountReadout { threshold } => threshold,
            super::model::QNeurons::Readout => 1,
        };
        let theta_bits = bits_for_range(0, theta.into()).ok_or_else(|| too_wide("threshold"))?;
        let membrane_bits = report.membrane_bits_needed.max(theta_bits);
        if membrane_bits > 64 {
            return Err(too_wide("membrane"));
        }
        let q = |bits: u32| QFormat::new(bits.max(m).max(1), m).map_err(|_| too_wide("format"));
        ls.formats.bias = q(bias_bits)?;
        ls.formats.threshold = q(theta_bits)?;
        ls.formats.membrane = q(membrane_bits)?;
    }
    Ok(spec)
}

/// Largest |weight| of a synapse group (real units) among those used.
fn peak_weight(model: &SnnModel, conn: &Connection, out: Shape) -> f64 {
    let peak = |xs: &mut dyn Iterator<Item = f32>| xs.fold(0f64, |m, w| m.max(f64::from(w).abs()));
    let src = match conn.source {
        Source::Input => model.input_shape,
        Source::Layer(i) => model.layers[i].shape,
    };
    match &conn.synapses {
        Synapses::Conv { kernel, .. } => peak(&mut kernel.iter().copied()),
        Synapses::Dense { kernel } => peak(&mut kernel.iter().copied()),
        Synapses::Identity { scale } => peak(&mut scale.iter().copied()),
        // The smallest window that occurs carries the largest weight.
        Synapses::AvgPool {
            size,
            strides,
            pad,
            scale,
        } => {
            let n = pool_window_sizes(src, out, *size, *strides, *pad)
                .into_iter()
                .next()
                .unwrap_or(1)
                .max(1);
            peak(&mut scale.iter().map(|s| s / n as f32))
        }
        Synapses::GlobalAvgPool { scale } => {
            let hw = (src.len() / scale.len().max(1)).max(1);
            peak(&mut scale.iter().map(|s| s / hw as f32))
        }
    }
}
