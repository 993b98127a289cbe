//! Routing tables of a layer engine: the taps of every source pixel packed
//! into *tap words* of `slots` taps each, one per current bank, so an
//! engine adds a whole word's taps in one cycle (docs/hardware.md, "Tap
//! words and banks").
//!
//! Output pixel `px` lives in bank `px % slots`; a tap word never holds two
//! taps of the same bank, so its taps never collide on a memory port. The
//! packing is optimal for that banking: a source pixel needs as many words
//! as its busiest bank has taps.

use super::layout::addr_bits;
pub use super::layout::Taps;

/// One tap of a tap word: the output pixel it reaches and the bases of
/// its weight and (bank-local) current addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The output pixel (a max gate pushes it with its spikes; 0 where
    /// packed relative, which only neuron engines are).
    pub px: usize,
    /// Weight address base (`kk * G * C_in` full, `kk * G` depthwise).
    pub wbase: usize,
    /// Bank-local group address of the pixel's first group.
    pub qbase: usize,
}

/// The packed routing tables of one engine.
///
/// Convolution and pooling taps repeat from pixel to pixel (shifted), so
/// where `relative` packing is asked for, each source pixel's words hold
/// its taps' group addresses relative to the pixel's `base` (the lowest of
/// them) and equal word lists are stored once (LeNet's first layer: 784
/// pixels, a few hundred distinct lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapWords {
    pub slots: usize,
    /// Per source pixel: (first word, number of words, base group address
    /// added to every slot's `qbase`).
    pub offsets: Vec<(usize, usize, usize)>,
    /// Words of `slots` entries; slot `b` only ever reaches bank `b`.
    pub words: Vec<Vec<Option<Slot>>>,
}

impl TapWords {
    /// Pack `taps` into words of `slots` taps; `slot` gives a tap's fields
    /// from `(kk, out_px)`. With `relative`, group addresses are stored
    /// relative to each pixel's base and repeated word lists shared.
    pub fn pack(
        taps: &Taps,
        slots: usize,
        relative: bool,
        slot: impl Fn(usize, usize) -> Slot,
    ) -> TapWords {
        let mut offsets = Vec::with_capacity(taps.len());
        let mut words: Vec<Vec<Option<Slot>>> = Vec::new();
        let mut seen: std::collections::HashMap<Vec<Vec<Option<Slot>>>, usize> =
            std::collections::HashMap::new();
        let mut banks: Vec<Vec<(usize, usize)>> = vec![Vec::new(); slots];
        for pixel in taps {
            banks.iter_mut().for_each(Vec::clear);
            for &(kk, px) in pixel {
                banks[px % slots].push((kk, px));
            }
            let n = banks.iter().map(Vec::len).max().unwrap_or(0);
            let mut list: Vec<Vec<Option<Slot>>> = (0..n)
                .map(|w| {
                    banks
                        .iter()
                        .map(|b| b.get(w).map(|&(kk, px)| slot(kk, px)))
                        .collect()
                })
                .collect();
            let base = if relative {
                let base = list
                    .iter()
                    .flatten()
                    .flatten()
                    .map(|s| s.qbase)
                    .min()
                    .unwrap_or(0);
                for s in list.iter_mut().flatten().flatten() {
                    s.qbase -= base;
                    s.px = 0;
                }
                base
            } else {
                0
            };
            let start = match seen.get(&list) {
                Some(&start) if relative => start,
                _ => {
                    let start = words.len();
                    if relative {
                        seen.insert(list.clone(), start);
                    }
                    words.extend(list);
                    start
                }
            };
            offsets.push((start, n, base));
        }
        TapWords {
            slots,
            offsets,
            words,
        }
    }

    /// The taps of source pixel `p` (slot, fields) with absolute group
    /// addresses.
    pub fn taps_of(&self, p: usize) -> impl Iterator<Item = (usize, Slot)> + '_ {
        let (start, n, base) = self.offsets[p];
        self.words[start..start + n].iter().flat_map(move |w| {
            w.iter().enumerate().filter_map(move |(b, s)| {
                s.map(|s| {
                    (
                        b,
                        Slot {
                            qbase: s.qbase + base,
                            ..s
                        },
                    )
                })
            })
        })
    }

    /// Words the packing of `taps` into `slots` banks needs in all.
    pub fn count(taps: &Taps, slots: usize) -> usize {
        let mut banks = vec![0usize; slots];
        taps.iter()
            .map(|pixel| {
                banks.iter_mut().for_each(|b| *b = 0);
                for &(_, px) in pixel {
                    banks[px % slots] += 1;
                }
                banks.iter().copied().max().unwrap_or(0)
            })
            .sum()
    }

    /// The number of slots up to `max` (among those `allowed`) that packs
    /// `taps` into (almost) the fewest words: the smallest within 5 % of
    /// the best, since every slot costs a copy of the weights and a lane of
    /// adders.
    pub fn choose_slots(
        taps: &Taps,
        max: usize,
        out_px: usize,
        allowed: impl Fn(usize) -> bool,
    ) -> usize {
        let limit = max.min(out_px).max(1);
        let counts: Vec<(usize, usize)> = (1..=limit)
            .filter(|&p| p == 1 || allowed(p))
            .map(|p| (p, TapWords::count(taps, p)))
            .collect();
        let best = counts.iter().map(|c| c.1).min().unwrap_or(0);
        counts
            .iter()
            .find(|c| c.1 * 100 <= best * 105)
            .map_or(1, |c| c.0)
    }

    pub fn n_words(&self) -> usize {
        self.words.len().max(1)
    }
    /// Bits of a word address.
    pub fn word_bits(&self) -> u32 {
        addr_bits(self.n_words())
    }
    /// Bits of a source pixel's word count (1 ..= the most words).
    pub fn count_bits(&self) -> u32 {
        let most = self.offsets.iter().map(|o| o.1).max().unwrap_or(0);
        addr_bits(most + 1)
    }
    /// Bits of the largest pixel base.
    pub fn base_bits(&self) -> u32 {
        addr_bits(self.offsets.iter().map(|o| o.2).max().unwrap_or(0) + 1)
    }
    /// Bits of the largest weight base.
    pub fn wbase_bits(&self) -> u32 {
        addr_bits(self.max_field(|s| s.wbase) + 1)
    }
    /// Bits of the largest output pixel.
    pub fn px_bits(&self) -> u32 {
        addr_bits(self.max_field(|s| s.px) + 1)
    }
    fn max_field(&self, f: impl Fn(&Slot) -> usize) -> usize {
        self.words
            .iter()
            .flatten()
            .flatten()
            .map(f)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The taps of a stride-1 valid k x k convolution of a w-wide map.
    fn conv_taps(w: usize, k: usize) -> Taps {
        let ow = w - k + 1;
        (0..w * w)
            .map(|p| {
                let (y, x) = (p / w, p % w);
                let mut t = Vec::new();
                for ky in 0..k {
                    for kx in 0..k {
                        if y >= ky && x >= kx && y - ky < ow && x - kx < ow {
                            t.push((ky * k + kx, (y - ky) * ow + x - kx));
                        }
                    }
                }
                t
            })
            .collect()
    }

    #[test]
    fn a_word_never_holds_two_taps_of_one_bank() {
        let taps = conv_taps(12, 5);
        for slots in 1..=6 {
            for relative in [false, true] {
                let words = TapWords::pack(&taps, slots, relative, |kk, px| Slot {
                    px,
                    wbase: kk,
                    qbase: px / slots,
                });
                if relative {
                    assert!(words.words.len() < TapWords::count(&taps, slots), "shared");
                } else {
                    assert_eq!(words.words.len(), TapWords::count(&taps, slots));
                }
                for (p, pixel) in taps.iter().enumerate() {
                    let mut got: Vec<(usize, usize)> = words
                        .taps_of(p)
                        .map(|(b, s)| {
                            // Bank b holds pixel qbase * slots + b.
                            (s.wbase, s.qbase * slots + b)
                        })
                        .collect();
                    let mut want = pixel.clone();
                    got.sort_unstable();
                    want.sort_unstable();
                    assert_eq!(got, want, "every tap exactly once");
                }
            }
        }
    }

    #[test]
    fn a_5x5_kernel_packs_into_5_words_with_5_banks() {
        // LeNet's second convolution: 12 x 12 -> 8 x 8.
        let taps = conv_taps(12, 5);
        let one = TapWords::count(&taps, 1);
        let five = TapWords::count(&taps, 5);
        assert_eq!(one, 64 * 25);
        assert!(five * 4 <= one, "{five} words with 5 banks, {one} with one");
        assert_eq!(TapWords::choose_slots(&taps, 8, 64, |_| true), 5);
        assert_eq!(TapWords::choose_slots(&taps, 8, 64, |p| p <= 2), 2);
        // Pooling taps: one per source pixel, so one slot.
        let pool: Taps = (0..16).map(|p| vec![(0, p / 4)]).collect();
        assert_eq!(TapWords::choose_slots(&pool, 8, 4, |_| true), 1);
    }
}
