//! Residual adds in hardware: a layer with two synapse groups (docs/hardware.md,
//! "Residual adds"). Its engine walks the chained source's spike list, then
//! the shortcut source's, within one step, as if they were the entries of
//! one *virtual source*:
//!
//! - a virtual pixel is `{group, pixel}`: the shortcut's pixel `p` is
//!   `1 << group_bit | p`, so the top level joins the two lists' entries by
//!   wiring alone and both groups' routing offsets share one table (the
//!   pixels between the chained source's last and `1 << group_bit` have no
//!   taps);
//! - a virtual channel is `g * L + lane` with `L` the wider source's lanes,
//!   so a source with fewer lanes needs no conversion either (its missing
//!   lanes are weights never read);
//! - both groups are full synapses (a shortcut's identity or pooling is a
//!   convolution whose kernel is diagonal in the channels), the shortcut's
//!   kernel positions numbered after the chained group's, so one weight
//!   table and one engine mode serve both.
//!
//! The sums are those of the bit-accurate simulator: at step `t` both
//! groups add the weights of their source's spikes of step `t`, and integer
//! addition is exact, so the order of the two walks cannot matter.

use crate::quant::QSynapses;
use crate::snn::dense::Dims;

use super::layout::{addr_bits, full_words, taps_of, Geometry};
use super::routing::{Slot, TapWords, Taps};

/// The second synapse group of a residual engine and how its source is
/// joined to the chained one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Residual {
    /// The layout of the chained source (the layer just before; group 0).
    pub chained: Geometry,
    /// The layer the shortcut group reads (an earlier one, or the same).
    pub layer: usize,
    /// Its layout.
    pub shortcut: Geometry,
    /// Step buffers of the shortcut's own spike list: the engine of layer
    /// `l` reads the shortcut's step `t` in beat `t + l`, `l - layer` beats
    /// after it was written, so the list holds `l - layer + 1` of them.
    pub halves: usize,
    /// The bit of a virtual pixel that says which group it belongs to.
    pub group_bit: u32,
}

impl Residual {
    /// Join the chained source `chained` and the shortcut source `shortcut`
    /// (layer `layer`) of the engine of layer `li`; returns the residual
    /// and the virtual source the engine walks.
    pub fn new(
        li: usize,
        chained: Geometry,
        layer: usize,
        shortcut: Geometry,
    ) -> (Residual, Geometry) {
        let group_bit = chained.px_bits.max(shortcut.px_bits);
        let lanes = chained.lanes.max(shortcut.lanes);
        let px = (1 << group_bit) + shortcut.px;
        let g = chained.g.max(shortcut.g);
        let virtual_source = Geometry {
            px,
            c: virtual_channel(chained, lanes, chained.c - 1).max(virtual_channel(
                shortcut,
                lanes,
                shortcut.c - 1,
            )) + 1,
            g,
            px_bits: group_bit + 1,
            g_bits: chained.g_bits.max(shortcut.g_bits),
            q_bits: addr_bits(px * g),
            lanes,
        };
        let residual = Residual {
            chained,
            layer,
            shortcut,
            halves: li - layer + 1,
            group_bit,
        };
        (residual, virtual_source)
    }

    /// The virtual pixel of a group's source pixel.
    pub fn virtual_px(&self, group: usize, px: usize) -> usize {
        if group == 0 {
            px
        } else {
            (1 << self.group_bit) | px
        }
    }

    /// A Verilog expression of group `group`'s list entry `entry` (a wire
    /// of its source's `{[counts], px, g, mask}`) as an entry of the
    /// virtual source `src`: `{group, px, g, mask}`, each field widened with
    /// zeros (wiring only; the counts a max gate reads are dropped).
    pub fn entry_wiring(&self, group: usize, src: &Geometry, entry: &str) -> String {
        let own = if group == 0 {
            self.chained
        } else {
            self.shortcut
        };
        let lanes = own.lanes as u32;
        let fields = [
            (
                src.px_bits - 1 - own.px_bits,
                lanes + own.g_bits + own.px_bits - 1,
                lanes + own.g_bits,
            ),
            (src.g_bits - own.g_bits, lanes + own.g_bits - 1, lanes),
            (src.lanes as u32 - lanes, lanes - 1, 0),
        ];
        let mut parts = vec![format!("1'b{group}")];
        for (pad, hi, lo) in fields {
            if pad > 0 {
                parts.push(format!("{pad}'d0"));
            }
            parts.push(format!("{entry}[{hi}:{lo}]"));
        }
        format!("{{{}}}", parts.join(", "))
    }
}

/// The virtual channel of channel `c` of a source laid out as `own` when
/// the engine's entries have `lanes` lanes: `g * lanes + lane`.
fn virtual_channel(own: Geometry, lanes: usize, c: usize) -> usize {
    c / own.lanes * lanes + c % own.lanes
}

/// A synapse group as full synapses: the taps `(kk, out_px)` of every
/// source pixel, the kernel positions `kk` there are, and the raw weight of
/// `(kk, input channel, output channel)`.
pub struct FullSynapses<'a> {
    pub taps: Taps,
    pub kk_count: usize,
    pub weight: Box<dyn Fn(usize, usize, usize) -> i64 + 'a>,
}

impl<'a> FullSynapses<'a> {
    /// `synapses` from a source laid out as `src` (`dims`) to `out_dims`;
    /// identity and pooling become kernels diagonal in the channels.
    pub fn of(synapses: &'a QSynapses, src: Geometry, (src_dims, out_dims): (Dims, Dims)) -> Self {
        let diagonal = |w: Box<dyn Fn(usize, usize) -> i64 + 'a>| -> Box<dyn Fn(usize, usize, usize) -> i64 + 'a> {
            Box::new(move |kk, ci, co| if ci == co { w(kk, ci) } else { 0 })
        };
        match synapses {
            QSynapses::Conv { kernel, .. } => {
                let (kh, kw, cin, cout) = kernel.dim();
                let fanout = synapses.fanout(src_dims, out_dims);
                FullSynapses {
                    taps: taps_of(&fanout, src.px, |k_off, _| {
                        k_off as usize / (cin * cout).max(1)
                    }),
                    kk_count: kh * kw,
                    weight: Box::new(move |kk, ci, co| kernel[[kk / kw, kk % kw, ci, co]]),
                }
            }
            // A dense layer is a convolution whose kernel covers the whole
            // source: kk = source pixel, one output pixel.
            QSynapses::Dense { kernel } => FullSynapses {
                taps: (0..src.px).map(|p| vec![(p, 0)]).collect(),
                kk_count: src.px,
                weight: Box::new(move |kk, ci, co| kernel[[kk * src.c + ci, co]]),
            },
            QSynapses::AvgPool { weights, .. } => {
                let fanout = synapses.fanout(src_dims, out_dims);
                let sizes = fanout.window_sizes.clone();
                FullSynapses {
                    taps: taps_of(&fanout, src.px, |_, o_px| {
                        (sizes[o_px as usize] as usize).saturating_sub(1)
                    }),
                    kk_count: weights.dim().0,
                    weight: diagonal(Box::new(move |kk, c| weights[[kk, c]])),
                }
            }
            QSynapses::GlobalAvgPool { weights } => FullSynapses {
                taps: (0..src.px).map(|_| vec![(0, 0)]).collect(),
                kk_count: 1,
                weight: diagonal(Box::new(move |_, c| weights[c])),
            },
            QSynapses::Identity { weights } => FullSynapses {
                taps: (0..src.px).map(|p| vec![(0, p)]).collect(),
                kk_count: 1,
                weight: diagonal(Box::new(move |_, c| weights[c])),
            },
        }
    }
}

/// The routing tables and weight words of a residual engine: `groups` are
/// the chained and the shortcut group, `src` the virtual source, `out` the
/// engine's layout; the slots are chosen as for a convolution.
pub fn route_residual(
    residual: &Residual,
    groups: [FullSynapses; 2],
    src: Geometry,
    out: Geometry,
    max_slots: usize,
    allowed: &dyn Fn(usize) -> bool,
) -> (TapWords, Vec<Vec<i64>>) {
    let kk0 = groups[0].kk_count;
    let mut taps: Taps = vec![Vec::new(); src.px];
    for (group, synapses) in groups.iter().enumerate() {
        let kk_base = if group == 0 { 0 } else { kk0 };
        for (p, pixel) in synapses.taps.iter().enumerate() {
            taps[residual.virtual_px(group, p)] =
                pixel.iter().map(|&(kk, o)| (kk_base + kk, o)).collect();
        }
    }
    let slots = TapWords::choose_slots(&taps, max_slots, out.px, allowed);
    let owns = [residual.chained, residual.shortcut];
    let words = full_words(kk0 + groups[1].kk_count, src.c, out, |kk, cv, co| {
        let (group, kk) = if kk < kk0 { (0, kk) } else { (1, kk - kk0) };
        let own = owns[group];
        let (g, lane) = (cv / src.lanes, cv % src.lanes);
        let c = g * own.lanes + lane;
        if lane >= own.lanes || c >= own.c {
            0
        } else {
            (groups[group].weight)(kk, c, co)
        }
    });
    let (g, stride) = (out.g, src.c);
    let routing = TapWords::pack(&taps, slots, true, |kk, px| Slot {
        px,
        wbase: kk * g * stride,
        qbase: px / slots * g,
    });
    (routing, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(px: usize, c: usize, lanes: usize) -> Geometry {
        let g = c.div_ceil(lanes);
        Geometry {
            px,
            c,
            g,
            px_bits: addr_bits(px),
            g_bits: addr_bits(g),
            q_bits: addr_bits(px * g),
            lanes,
        }
    }

    #[test]
    fn the_virtual_source_holds_both_groups_pixels_and_channels() {
        // 12 x 13 x 8 in 8 lanes, 6 x 7 x 16 in 4 lanes (4 groups).
        let (a, b) = (geometry(156, 8, 8), geometry(42, 16, 4));
        let (r, v) = Residual::new(4, a, 2, b);
        assert_eq!(r.halves, 3);
        assert_eq!(r.group_bit, 8);
        assert_eq!((v.px, v.px_bits, v.lanes, v.g_bits), (256 + 42, 9, 8, 2));
        // b's channel 15 is group 3, lane 3: virtual 3 * 8 + 3.
        assert_eq!(v.c, 28);
        assert_eq!(r.virtual_px(1, 41), 256 + 41);
        assert_eq!(
            r.entry_wiring(0, &v, "e"),
            "{1'b0, e[16:9], 1'd0, e[8:8], e[7:0]}"
        );
        assert_eq!(
            r.entry_wiring(1, &v, "e"),
            "{1'b1, 2'd0, e[11:6], e[5:4], 4'd0, e[3:0]}"
        );
    }
}
