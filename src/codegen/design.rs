//! The decided hardware design of a quantised network: every width, shift,
//! constant and memory image of every layer engine (docs/hardware.md). The
//! templates only print it. So far the backend handles networks of dense
//! layers (an analog-input dense layer, spiking dense layers, a
//! potential readout); anything else is refused with the layer named.

use crate::quant::arith::align;
use crate::quant::format::bits_for_range;
use crate::quant::{Overflow, QLayerKind, QNeurons, QSynapses, QuantModel};
use crate::snn::Source;

/// Why a network cannot be built (yet).
#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    #[error("layer {layer}: {reason}")]
    Unsupported { layer: String, reason: String },
}

/// One dense layer engine (`hw/snn_dense_layer.v`) and its memories.
#[derive(Debug, Clone)]
pub struct DenseEngine {
    pub name: String,
    pub n_in: usize,
    pub n_out: usize,
    pub in_bits: u32,
    pub out_bits: u32,
    pub w_addr_bits: u32,
    pub count_bits: u32,
    pub w_bits: u32,
    pub w_shift: u32,
    pub b_bits: u32,
    pub b_shift: u32,
    pub acc_bits: u32,
    pub membrane_bits: u32,
    pub theta_bits: u32,
    /// Aligned threshold (membrane units); 1 for the readout (unused).
    pub theta: i64,
    pub v0: i64,
    pub fires: bool,
    pub analog: bool,
    /// Shift of a product `w * x` (analog layer only).
    pub p_shift: u32,
    /// Raw weights, `input * n_out + unit`.
    pub weights: Vec<i64>,
    /// Raw biases per unit (zeros without a bias).
    pub bias: Vec<i64>,
}

/// A whole design: engines in order, the last one the readout.
#[derive(Debug, Clone)]
pub struct Design {
    pub name: String,
    pub timesteps: usize,
    pub saturate: bool,
    pub input_len: usize,
    pub input_bits: u32,
    pub input_addr_bits: u32,
    pub engines: Vec<DenseEngine>,
}

/// Address bits for `n` distinct values (at least 1).
pub fn addr_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Decide the design of `model` for `timesteps` steps.
pub fn design(model: &QuantModel, timesteps: usize) -> Result<Design, DesignError> {
    let input_len = model.input_shape.len();
    let mut engines = Vec::with_capacity(model.layers.len());
    for (li, layer) in model.layers.iter().enumerate() {
        let unsupported = |reason: &str| DesignError::Unsupported {
            layer: layer.name.clone(),
            reason: reason.into(),
        };
        let QLayerKind::Neurons(n) = &layer.kind else {
            return Err(unsupported("max pooling is not in the Verilog backend yet"));
        };
        let [conn] = n.inputs.as_slice() else {
            return Err(unsupported(
                "layers with several inputs (residual adds) are not in the Verilog backend yet",
            ));
        };
        let QSynapses::Dense { kernel } = &conn.synapses else {
            return Err(unsupported(&format!(
                "{} synapses are not in the Verilog backend yet (dense only)",
                match conn.synapses {
                    QSynapses::Conv { .. } => "convolution",
                    QSynapses::AvgPool { .. } => "average-pooling",
                    QSynapses::GlobalAvgPool { .. } => "global average-pooling",
                    _ => "identity",
                }
            )));
        };
        let analog = conn.source == Source::Input;
        if !analog && conn.source != Source::Layer(li.wrapping_sub(1)) {
            return Err(unsupported(
                "only chains of layers are in the Verilog backend yet",
            ));
        }
        let (fires, theta_raw) = match n.neurons {
            QNeurons::IntegrateAndFire { threshold } => (true, threshold),
            QNeurons::Readout => (false, 1),
            QNeurons::SpikeCountReadout { .. } => {
                return Err(unsupported(
                    "the spike-count readout is not in the Verilog backend yet",
                ))
            }
        };
        let last = li + 1 == model.layers.len();
        if fires == last {
            return Err(unsupported(
                "the last layer must be the potential readout, and only it",
            ));
        }
        let f = n.formats;
        let m = f.membrane.frac();
        let theta = align(theta_raw, f.threshold.frac(), m);
        let (n_in, n_out) = kernel.dim();
        let bias = n.bias.clone().unwrap_or_else(|| vec![0; n_out]);
        let w_shift = if analog { 0 } else { m - f.weights.frac() };
        let p_shift = if analog {
            m - f.weights.frac() - model.input.format.frac()
        } else {
            0
        };
        let b_shift = m - f.bias.frac();
        // A wider accumulator changes nothing (sums are exact); the engine
        // needs room for the aligned weight and bias words.
        let acc_bits = n
            .accumulator_bits
            .max(f.weights.bits() + w_shift)
            .max(f.bias.bits() + b_shift);
        engines.push(DenseEngine {
            name: layer.name.clone(),
            n_in,
            n_out,
            in_bits: addr_bits(n_in),
            out_bits: addr_bits(n_out),
            w_addr_bits: addr_bits(n_in * n_out),
            count_bits: addr_bits(n_in + 1),
            w_bits: f.weights.bits(),
            w_shift,
            b_bits: f.bias.bits(),
            b_shift,
            acc_bits,
            membrane_bits: f.membrane.bits(),
            theta_bits: bits_for_range(0, theta).unwrap_or(64),
            theta: theta as i64,
            v0: n.v0,
            fires,
            analog,
            p_shift,
            weights: kernel.iter().copied().collect(),
            bias,
        });
    }
    Ok(Design {
        name: model.name.clone(),
        timesteps,
        saturate: model.overflow == Overflow::Saturate,
        input_len,
        input_bits: model.input.format.bits(),
        input_addr_bits: addr_bits(input_len),
        engines,
    })
}

#[cfg(test)]
mod tests {
    use super::addr_bits;

    #[test]
    fn address_bits() {
        assert_eq!(
            [
                addr_bits(1),
                addr_bits(2),
                addr_bits(3),
                addr_bits(4),
                addr_bits(5)
            ],
            [1, 1, 2, 2, 3]
        );
        assert_eq!(addr_bits(784), 10);
        assert_eq!(addr_bits(1024), 10);
    }
}
