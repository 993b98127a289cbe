//! The editable description of a quantisation: per layer, the free scale
//! and four formats; plus the input format and the arithmetic policies.
//! `choose_formats` proposes one, YAML (`config::quant`) stores it, and
//! `quantize_model` applies it.

use super::format::{Overflow, QFormat, Rounding};
use super::model::{InputFormat, LayerFormats};

/// One layer with a datapath (max gates have none).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    pub name: String,
    /// Real units x `scale` = fixed-point value (docs/fixed-point.md §3).
    pub scale: f64,
    pub formats: LayerFormats,
}

/// A whole quantisation.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantSpec {
    pub rounding: Rounding,
    pub overflow: Overflow,
    /// Simulation length the membrane widths are meant to cover.
    pub timesteps: usize,
    pub input: InputFormat,
    pub layers: Vec<LayerSpec>,
}

/// What `choose_formats` is asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantOptions {
    /// Total bits of every weight format.
    pub weight_bits: u32,
    /// Total bits of the input format.
    pub input_bits: u32,
    /// Longest simulation the membrane widths must cover without overflow.
    pub timesteps: usize,
    pub rounding: Rounding,
    pub overflow: Overflow,
}

impl QuantOptions {
    /// Defaults: 9-bit input (8-bit unsigned pixels exactly), the documented
    /// rounding (nearest-even) and overflow (saturate) policies.
    pub fn with_bits(weight_bits: u32, timesteps: usize) -> QuantOptions {
        QuantOptions {
            weight_bits,
            input_bits: 9,
            timesteps,
            rounding: Rounding::default(),
            overflow: Overflow::default(),
        }
    }
}

impl LayerFormats {
    /// All four formats `bits` wide with `frac` fractional bits.
    pub fn uniform(bits: u32, frac: u32) -> Option<LayerFormats> {
        let q = QFormat::new(bits, frac).ok()?;
        Some(LayerFormats {
            weights: q,
            bias: q,
            threshold: q,
            membrane: q,
        })
    }
}
