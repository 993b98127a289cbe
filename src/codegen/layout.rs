//! How a layer's neurons and synapses are laid out in memory words: the
//! neuron groups of `lanes` output channels, address widths, full weight
//! words and the taps of a fan-out table. The layer engines (`design`),
//! residual synapse groups (`residual`) and routing tables (`routing`) all
//! build on it.

use crate::snn::dense::Dims;
use crate::snn::fanout::FanOut;

/// The taps `(kk, out_px)` of every source pixel (`kk` indexes the
/// weights: kernel position, source pixel of a dense layer, window size of
/// a pool).
pub type Taps = Vec<Vec<(usize, usize)>>;

/// Address bits for `n` distinct values (at least 1).
pub fn addr_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// How a layer's neurons are laid out in groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub px: usize,
    pub c: usize,
    /// Groups per pixel: `ceil(c / lanes)`.
    pub g: usize,
    pub px_bits: u32,
    pub g_bits: u32,
    /// Bits of a group address `px * g + g`.
    pub q_bits: u32,
    pub lanes: usize,
}

impl Geometry {
    pub(super) fn new(dims: Dims, lanes: usize) -> Geometry {
        let px = dims.h * dims.w;
        let g = dims.c.div_ceil(lanes);
        Geometry {
            px,
            c: dims.c,
            g,
            px_bits: addr_bits(px),
            g_bits: addr_bits(g),
            q_bits: addr_bits(px * g),
            lanes,
        }
    }

    pub fn groups(&self) -> usize {
        self.px * self.g
    }

    /// Bits of a spike entry `{px, g, mask}`.
    pub fn entry_bits(&self) -> u32 {
        self.px_bits + self.g_bits + self.lanes as u32
    }

    /// The neurons of a spike entry `{px, g, mask}` of this layout.
    pub fn neurons_of(&self, entry: u128) -> Vec<u32> {
        let lanes = self.lanes as u32;
        let mask = entry & ((1u128 << lanes) - 1);
        let g = (entry >> lanes) & ((1u128 << self.g_bits) - 1);
        let px = entry >> (lanes + self.g_bits);
        (0..lanes)
            .filter(|l| mask >> l & 1 == 1)
            .map(|l| (px as usize * self.c + g as usize * self.lanes + l as usize) as u32)
            .collect()
    }

    /// Which lanes of the last group are channels (the rest is padding).
    pub fn last_mask(&self) -> u64 {
        let used = self.c - (self.g - 1) * self.lanes;
        if used == 64 {
            u64::MAX
        } else {
            (1u64 << used) - 1
        }
    }
}

/// Raw weights of a full (conv/dense) synapse group as words: word
/// `(kk * G + gq) * src_c + ci` (the input channel fastest, so an engine
/// steps through the output groups of a tap by adding `src_c`), lane `l` =
/// output channel `gq * lanes + l`.
pub(super) fn full_words(
    kk_count: usize,
    src_c: usize,
    out: Geometry,
    weight: impl Fn(usize, usize, usize) -> i64,
) -> Vec<Vec<i64>> {
    let lanes = out.lanes;
    let mut words = Vec::with_capacity(kk_count * src_c * out.g);
    for kk in 0..kk_count {
        for gq in 0..out.g {
            for ci in 0..src_c {
                words.push(
                    (0..lanes)
                        .map(|l| gq * lanes + l)
                        .map(|co| if co < out.c { weight(kk, ci, co) } else { 0 })
                        .collect(),
                );
            }
        }
    }
    words
}

/// The taps `(kk, out_px)` of every source pixel of a fan-out table, `kk`
/// computed from `(k_off, out_px)`.
pub(super) fn taps_of(fanout: &FanOut, src_px: usize, kk: impl Fn(u32, u32) -> usize) -> Taps {
    (0..src_px)
        .map(|p| {
            fanout
                .of(p)
                .iter()
                .map(|&(k_off, o_px)| (kk(k_off, o_px), o_px as usize))
                .collect()
        })
        .collect()
}
