//! Consistency checks of an `SnnModel` (one read from an edited directory
//! must never make the simulator index out of bounds).

use super::model::{Bias, InitialFraction, Neurons, SnnModel, Source, Synapses, MAX_BURST};
use crate::ir::Shape;

/// Whether `h` can be an initial potential: a finite fraction of the
/// threshold from -1 to 1 (what the converter and calibration choose; the
/// quantiser sizes V0 by it).
pub fn is_initial_fraction(h: f32) -> bool {
    h.is_finite() && (-1.0..=1.0).contains(&h)
}

fn is_map(s: Shape) -> bool {
    matches!(s, Shape::Map { .. })
}

fn hwc(s: Shape) -> (usize, usize, usize) {
    match s {
        Shape::Map { h, w, c } => (h, w, c),
        Shape::Vector { n } => (1, 1, n),
    }
}

/// Output size along one axis of a window, or `None` if it does not fit.
fn out_len(input: usize, k: usize, s: usize, before: usize, after: usize) -> Option<usize> {
    let padded = input + before + after;
    (s > 0 && padded >= k).then(|| (padded - k) / s + 1)
}

/// `Err((layer, reason))` for the first inconsistency.
pub fn check_model(model: &SnnModel) -> Result<(), (String, String)> {
    let n = model.layers.len();
    if n == 0 {
        return Err(("<model>".into(), "has no layers".into()));
    }
    if !is_initial_fraction(model.h) {
        return Err((
            "<model>".into(),
            format!(
                "h = {} must be a fraction of the threshold from -1 to 1",
                model.h
            ),
        ));
    }
    if let Some(h) = &model.h_layers {
        if h.len() != n {
            return Err((
                "<model>".into(),
                format!("h_layers must have {n} entries, one per layer"),
            ));
        }
        for (layer, h) in model.layers.iter().zip(h) {
            let c = layer.shape.channels();
            if let InitialFraction::Channels(hs) = h {
                if hs.len() != c {
                    return Err((
                        layer.name.clone(),
                        format!(
                            "has {} initial fractions (h_layers) for {c} channels",
                            hs.len()
                        ),
                    ));
                }
            }
            if !h.values().iter().all(|&v| is_initial_fraction(v)) {
                return Err((
                    layer.name.clone(),
                    "its initial fractions (h_layers) must be from -1 to 1".into(),
                ));
            }
        }
    }
    for (li, layer) in model.layers.iter().enumerate() {
        let fail = |reason: String| Err((layer.name.clone(), reason));
        let (h, w, c) = hwc(layer.shape);
        let is_last = li + 1 == n;
        match (&layer.neurons, is_last) {
            (r, false) if r.is_readout() => {
                return fail("only the last layer may be the readout".into())
            }
            (r, true) if r.is_readout() => {}
            (_, true) => return fail("the last layer must be the readout".into()),
            (
                Neurons::IntegrateAndFire { threshold } | Neurons::SpikeCountReadout { threshold },
                _,
            ) if !(threshold.is_finite() && *threshold > 0.0) => {
                return fail(format!("threshold {threshold} must be positive"))
            }
            _ => {}
        }
        let burst_ok = match layer.neurons {
            Neurons::IntegrateAndFire { .. } => (1..=MAX_BURST).contains(&layer.burst),
            Neurons::MaxGate { .. } => match layer.gate_source {
                Some(Source::Layer(s)) if s < li => layer.burst == model.layers[s].burst,
                _ => true, // the source is checked below
            },
            _ => layer.burst == 1,
        };
        if !burst_ok {
            return fail(format!(
                "burst {} must be 1 to {MAX_BURST} for IF neurons, its source's for a max gate, \
                 and 1 for the read-out",
                layer.burst
            ));
        }
        if layer.lambda.len() != c {
            return fail(format!(
                "lambda has {} values for {c} channels",
                layer.lambda.len()
            ));
        }
        if let Some(b) = &layer.bias {
            let n = layer.size();
            let len = b.values().len();
            let right = match b {
                Bias::Channel(_) => len == c,
                Bias::Neuron(_) => len == n,
            };
            if !right || b.values().iter().any(|v| !v.is_finite()) {
                return fail(format!(
                    "bias must be {c} (one per channel) or {n} (one per neuron) finite values, not {len}"
                ));
            }
        }
        let source_shape = |s: Source| match s {
            Source::Input => Some(model.input_shape),
            Source::Layer(i) if i < li => Some(model.layers[i].shape),
            Source::Layer(_) => None,
        };
        if let Neurons::MaxGate { size, strides, pad } = layer.neurons {
            let Some(Source::Layer(src)) = layer.gate_source.filter(|s| source_shape(*s).is_some())
            else {
                return fail("a max gate needs an earlier spiking layer as its source".into());
            };
            let (sh, sw, sc) = hwc(model.layers[src].shape);
            if !is_map(model.layers[src].shape) || !is_map(layer.shape) {
                return fail(
                    "a max gate pools a feature map: its source and shape must be maps (h, w, c)"
                        .into(),
                );
            }
            if out_len(sh, size.0, strides.0, pad.top, pad.bottom) != Some(h)
                || out_len(sw, size.1, strides.1, pad.left, pad.right) != Some(w)
                || sc != c
            {
                return fail("gate geometry does not match its source and shape".into());
            }
            continue;
        }
        if layer.inputs.is_empty() {
            return fail("has no inputs".into());
        }
        for conn in &layer.inputs {
            let Some(src) = source_shape(conn.source) else {
                return fail("a source is not an earlier layer".into());
            };
            let (sh, sw, sc) = hwc(src);
            let ok = match &conn.synapses {
                // Windows slide over maps: a vector is not a 1x1 map to them
                // (the later stages index a map's height and width).
                Synapses::Conv {
                    kernel,
                    strides,
                    pad,
                } => {
                    let (kh, kw, cin, cout) = kernel.dim();
                    is_map(src)
                        && is_map(layer.shape)
                        && cin == sc
                        && cout == c
                        && out_len(sh, kh, strides.0, pad.top, pad.bottom) == Some(h)
                        && out_len(sw, kw, strides.1, pad.left, pad.right) == Some(w)
                        && kernel.iter().all(|v| v.is_finite())
                }
                Synapses::Dense { kernel } => {
                    kernel.dim() == (src.len(), layer.size())
                        && kernel.iter().all(|v| v.is_finite())
                }
                Synapses::AvgPool {
                    size,
                    strides,
                    pad,
                    scale,
                } => {
                    is_map(src)
                        && is_map(layer.shape)
                        && sc == c
                        && scale.len() == c
                        && out_len(sh, size.0, strides.0, pad.top, pad.bottom) == Some(h)
                        && out_len(sw, size.1, strides.1, pad.left, pad.right) == Some(w)
                }
                Synapses::GlobalAvgPool { scale } => sc == c && scale.len() == c && h * w == 1,
                Synapses::Identity { scale } => {
                    src.len() == layer.size() && sc == c && scale.len() == c
                }
            };
            if !ok {
                return fail(format!(
                    "{} synapses do not fit source shape {src} and layer shape {}",
                    conn.synapses.kind_name(),
                    layer.shape
                ));
            }
        }
    }
    Ok(())
}
