//! The only place that rounds, shifts or saturates (docs/fixed-point.md).
//! Everything the integer simulator computes goes through these functions,
//! and the Verilog implements the same definitions; property tests check
//! them against wide-integer and `fixed`-crate references.

use super::format::{max_raw, min_raw, Overflow, Rounding};

/// A real value rounded to an integer-valued `f64` (§2.1).
pub fn round(x: f64, rounding: Rounding) -> f64 {
    match rounding {
        Rounding::NearestEven => x.round_ties_even(),
        Rounding::Nearest => x.round(),
        Rounding::TowardZero => x.trunc(),
        Rounding::Floor => x.floor(),
    }
}

/// An integer brought into a `bits`-wide signed format (§2.2); the flag
/// says whether it was outside (an overflow event).
pub fn fit(x: i128, bits: u32, overflow: Overflow) -> (i64, bool) {
    let (lo, hi) = (i128::from(min_raw(bits)), i128::from(max_raw(bits)));
    if (lo..=hi).contains(&x) {
        return (x as i64, false);
    }
    let v = match overflow {
        Overflow::Saturate => x.clamp(lo, hi),
        // Two's complement wrap: keep the low `bits` bits, sign-extended.
        Overflow::Wrap => (x - lo).rem_euclid(1i128 << bits) + lo,
    };
    (v as i64, true)
}

/// A real value as a raw integer of a `bits`-wide format whose unit is
/// `1 / scale` (§2.3): `fit(round(x * scale))`. `None` for NaN or infinity.
pub fn quantize(
    x: f64,
    scale: f64,
    bits: u32,
    rounding: Rounding,
    overflow: Overflow,
) -> Option<(i64, bool)> {
    let r = round(x * scale, rounding);
    if !r.is_finite() {
        return None;
    }
    // Beyond +-2^100 every 64-bit format overflows anyway; clamping first
    // keeps the conversion to i128 exact (wrapping such a value is
    // meaningless, and saturating it gives the same result).
    let r = r.clamp(-(2f64.powi(100)), 2f64.powi(100)) as i128;
    Some(fit(r, bits, overflow))
}

/// A raw value of a format with `from` fractional bits in one with `to >=
/// from` fractional bits: an exact left shift (§3; the datapath never
/// shifts right, so never rounds).
pub fn align(raw: i64, from: u32, to: u32) -> i128 {
    debug_assert!(to >= from);
    i128::from(raw) << (to - from)
}

/// The initial membrane potential `round(h * theta)` (§4.1).
pub fn initial_potential(h: f64, theta: i64, rounding: Rounding) -> i64 {
    round(h * theta as f64, rounding) as i64
}

/// What one neuron did in one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub v: i64,
    pub spike: bool,
    pub overflow: bool,
}

/// One integrate-and-fire step (§4.2): `V = fit(V + I)`; if `V >= theta`,
/// spike and `V -= theta` (which cannot overflow: `0 <= V - theta < V`).
pub fn if_step(v: i64, current: i64, theta: i64, bits: u32, overflow: Overflow) -> Step {
    let (v, overflow) = fit(i128::from(v) + i128::from(current), bits, overflow);
    let spike = v >= theta;
    Step {
        v: if spike { v - theta } else { v },
        spike,
        overflow,
    }
}

/// One step of the readout (§4.3): `V = fit(V + I)`, no threshold.
pub fn readout_step(v: i64, current: i64, bits: u32, overflow: Overflow) -> Step {
    let (v, overflow) = fit(i128::from(v) + i128::from(current), bits, overflow);
    Step {
        v,
        spike: false,
        overflow,
    }
}

/// A cutoff margin in raw read-out units (§4.6): `ceil(margin * unit)`,
/// where `unit = scale * 2^frac` is one real unit in raw units (§3), so a
/// raw margin is never below the real one. At least 1 (a positive margin
/// that underflows would otherwise stop every image at step 1), at most
/// `i64::MAX` (a margin no difference exceeds: it never stops early).
/// `margin` must be positive and finite.
pub fn margin_raw(margin: f64, scale: f64, frac: u32) -> i64 {
    let x = (margin * (scale * 2f64.powi(frac as i32))).ceil();
    // Float to int casts saturate, and i64::MAX as f64 rounds up to 2^63.
    (x as i64).max(1)
}

/// A real margin `m` with `margin_raw(m, ..) == raw`, for reports: `raw /
/// unit`, moved by the last ulp where the division rounded across an
/// integer, so a reported margin given back gives the same raw margin.
pub fn margin_real(raw: i64, scale: f64, frac: u32) -> f64 {
    let unit = scale * 2f64.powi(frac as i32);
    let mut m = raw as f64 / unit;
    // Positive finite floats are ordered like their bits: +-1 is one ulp.
    for _ in 0..4 {
        match margin_raw(m, scale, frac).cmp(&raw) {
            std::cmp::Ordering::Greater => m = f64::from_bits(m.to_bits() - 1),
            std::cmp::Ordering::Less => m = f64::from_bits(m.to_bits() + 1),
            std::cmp::Ordering::Equal => break,
        }
    }
    m
}

/// Storage of the integer simulator's currents and potentials: `i32` when
/// every width of the model is at most 31 bits (so `V + I` fits in `i64`
/// and the vector units do twice the work of `i64`), else `i64`.
pub trait Word:
    Copy + Default + PartialOrd + Send + Sync + std::ops::AddAssign + std::ops::SubAssign + 'static
{
    /// Whether `V + I` of two such values always fits in `i64`.
    const SUM_FITS_I64: bool;
    fn from_raw(raw: i64) -> Self;
    fn raw(self) -> i64;

    /// `if_step_layer`, possibly faster for this storage. `narrow` promises
    /// that currents fit in 31 bits (then so does `V + I` for a membrane
    /// of at most 31 bits); `proven` that no `V + I` can leave the
    /// membrane format (docs/fixed-point.md §5), so the range check can be
    /// skipped. `scratch` needs `v.len() + 4` slots.
    #[allow(clippy::too_many_arguments)]
    fn step_layer(
        v: &mut [Self],
        current: &[Self],
        theta: i64,
        bits: u32,
        overflow: Overflow,
        _narrow: bool,
        _proven: bool,
        scratch: &mut [u32],
        spikes: &mut Vec<u32>,
    ) -> u64 {
        if_step_layer(v, current, theta, bits, overflow, scratch, spikes)
    }
}

impl Word for i32 {
    const SUM_FITS_I64: bool = true;

    fn step_layer(
        v: &mut [i32],
        current: &[i32],
        theta: i64,
        bits: u32,
        overflow: Overflow,
        narrow: bool,
        proven: bool,
        scratch: &mut [u32],
        spikes: &mut Vec<u32>,
    ) -> u64 {
        #[cfg(target_arch = "x86_64")]
        if narrow && bits <= 31 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            return unsafe {
                if proven {
                    if_step_layer_i32x8::<false>(v, current, theta, bits, overflow, scratch, spikes)
                } else {
                    if_step_layer_i32x8::<true>(v, current, theta, bits, overflow, scratch, spikes)
                }
            };
        }
        let _ = (narrow, proven);
        if_step_layer(v, current, theta, bits, overflow, scratch, spikes)
    }

    fn from_raw(raw: i64) -> i32 {
        raw as i32
    }
    fn raw(self) -> i64 {
        i64::from(self)
    }
}

impl Word for i64 {
    const SUM_FITS_I64: bool = false;
    fn from_raw(raw: i64) -> i64 {
        raw
    }
    fn raw(self) -> i64 {
        self
    }
}

/// `if_step` over a layer: every neuron with its current; indices of the
/// neurons that fired are appended to `spikes` in increasing order. Returns
/// the number of overflow events. `scratch` needs one slot per neuron.
///
/// Same definition as `if_step`, written for speed where `V + I` fits in
/// `i64`: no branch on whether a neuron fires (that is close to random,
/// and mispredicting it cost more than the arithmetic), and the rare
/// overflow takes the general path.
pub fn if_step_layer<W: Word>(
    v: &mut [W],
    current: &[W],
    theta: i64,
    bits: u32,
    overflow: Overflow,
    scratch: &mut [u32],
    spikes: &mut Vec<u32>,
) -> u64 {
    assert!(current.len() == v.len() && scratch.len() >= v.len());
    if !W::SUM_FITS_I64 {
        let mut count = 0;
        let all = 0..v.len();
        let events = scalar_steps(v, current, all, theta, bits, overflow, scratch, &mut count);
        spikes.extend_from_slice(&scratch[..count]);
        return events;
    }
    let (lo, hi) = (min_raw(bits), max_raw(bits));
    let (mut events, mut count) = (0u64, 0usize);
    for (i, (v, &c)) in v.iter_mut().zip(current).enumerate() {
        let mut x = v.raw() + c.raw();
        if x < lo || x > hi {
            x = fit(i128::from(x), bits, overflow).0;
            events += 1;
        }
        let fire = x >= theta;
        *v = W::from_raw(x - i64::from(fire) * theta);
        // count <= i < scratch.len(), so the index is in bounds.
        scratch[count] = i as u32;
        count += usize::from(fire);
    }
    spikes.extend_from_slice(&scratch[..count]);
    events
}

/// `if_step_layer` eight neurons at a time in 32-bit lanes (AVX2, on CPUs
/// that have it). Valid when the membrane has at most 31 bits and currents
/// fit in 31 bits, so `V + I` cannot overflow 32 bits; a block with a value
/// outside the membrane format takes the scalar definition. Without `CHECK`
/// the range check is skipped: only for layers proven not to overflow.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn if_step_layer_i32x8<const CHECK: bool>(
    v: &mut [i32],
    current: &[i32],
    theta: i64,
    bits: u32,
    overflow: Overflow,
    scratch: &mut [u32],
    spikes: &mut Vec<u32>,
) -> u64 {
    use crate::snn::pack::pack_quad;
    use std::arch::x86_64::*;
    assert!(current.len() == v.len() && scratch.len() >= v.len() + 4 && bits <= 31);
    let th = theta.clamp(1, i64::from(i32::MAX)) as i32;
    let (lo, hi) = (min_raw(bits) as i32, max_raw(bits) as i32);
    let (mut events, mut count) = (0u64, 0usize);
    let octs = v.len() / 8 * 8;
    // SAFETY: AVX2 is enabled for this function (callers check the CPU);
    // loads and stores of `v` and `current` are below `octs <= v.len()`;
    // each `pack_quad` writes `scratch[count..count + 4]` with `count <=
    // base + 4 <= v.len()` and `scratch.len() >= v.len() + 4`.
    unsafe {
        let (vlo, vhi) = (_mm256_set1_epi32(lo), _mm256_set1_epi32(hi));
        let (vth, below) = (_mm256_set1_epi32(th), _mm256_set1_epi32(th - 1));
        for base in (0..octs).step_by(8) {
            let pv = v.as_mut_ptr().add(base).cast::<__m256i>();
            let x = _mm256_add_epi32(
                _mm256_loadu_si256(pv),
                _mm256_loadu_si256(current.as_ptr().add(base).cast()),
            );
            let outside = _mm256_or_si256(_mm256_cmpgt_epi32(x, vhi), _mm256_cmpgt_epi32(vlo, x));
            if CHECK && _mm256_testz_si256(outside, outside) == 0 {
                let lanes = base..base + 8;
                events += scalar_steps(
                    v, current, lanes, theta, bits, overflow, scratch, &mut count,
                );
                continue;
            }
            let fire = _mm256_cmpgt_epi32(x, below);
            _mm256_storeu_si256(pv, _mm256_sub_epi32(x, _mm256_and_si256(fire, vth)));
            let mask = _mm256_movemask_ps(_mm256_castsi256_ps(fire)) as usize;
            count += pack_quad(mask & 15, base as u32, scratch.as_mut_ptr().add(count));
            count += pack_quad(mask >> 4, base as u32 + 4, scratch.as_mut_ptr().add(count));
        }
    }
    let rest = octs..v.len();
    events += scalar_steps(v, current, rest, theta, bits, overflow, scratch, &mut count);
    spikes.extend_from_slice(&scratch[..count]);
    events
}

/// `if_step`, one neuron at a time, for the neurons `range` of a layer (all
/// of it, or a vector step's block with an out-of-range value or its tail),
/// appending fired indices to `scratch[*count..]`. Returns the overflow
/// events.
#[allow(clippy::too_many_arguments)]
fn scalar_steps<W: Word>(
    v: &mut [W],
    current: &[W],
    range: std::ops::Range<usize>,
    theta: i64,
    bits: u32,
    overflow: Overflow,
    scratch: &mut [u32],
    count: &mut usize,
) -> u64 {
    let mut events = 0;
    for i in range {
        let s = if_step(v[i].raw(), current[i].raw(), theta, bits, overflow);
        v[i] = W::from_raw(s.v);
        events += u64::from(s.overflow);
        scratch[*count] = i as u32;
        *count += usize::from(s.spike);
    }
    events
}

/// `readout_step` over a layer; returns the number of overflow events.
pub fn readout_step_layer<W: Word>(
    v: &mut [W],
    current: &[W],
    bits: u32,
    overflow: Overflow,
) -> u64 {
    let mut events = 0;
    for (v, &c) in v.iter_mut().zip(current) {
        let s = readout_step(v.raw(), c.raw(), bits, overflow);
        *v = W::from_raw(s.v);
        events += u64::from(s.overflow);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_modes_on_ties_and_negatives() {
        let r = |x, m| round(x, m) as i64;
        use Rounding::*;
        assert_eq!(
            [
                r(2.5, NearestEven),
                r(3.5, NearestEven),
                r(-2.5, NearestEven)
            ],
            [2, 4, -2]
        );
        assert_eq!(
            [r(2.5, Nearest), r(-2.5, Nearest), r(2.4, Nearest)],
            [3, -3, 2]
        );
        assert_eq!([r(2.7, TowardZero), r(-2.7, TowardZero)], [2, -2]);
        assert_eq!([r(2.7, Floor), r(-2.2, Floor)], [2, -3]);
    }

    #[test]
    fn margins_round_up_to_raw_units_and_back() {
        // 0.3 potential units, scale 2, 4 fractional bits: 9.6 -> 10.
        assert_eq!(margin_raw(0.3, 2.0, 4), 10);
        // Exactly on a raw unit: no rounding up.
        assert_eq!(margin_raw(0.5, 2.0, 4), 16);
        // Spike counts (unit 1): ceil.
        assert_eq!(margin_raw(2.0, 1.0, 0), 2);
        assert_eq!(margin_raw(2.01, 1.0, 0), 3);
        assert_eq!(margin_raw(1e-300, 1.0, 0), 1);
        assert_eq!(margin_raw(1e300, 1.0, 0), i64::MAX);
    }

    #[test]
    fn fit_saturates_or_wraps() {
        assert_eq!(fit(127, 8, Overflow::Saturate), (127, false));
        assert_eq!(fit(128, 8, Overflow::Saturate), (127, true));
        assert_eq!(fit(-129, 8, Overflow::Saturate), (-128, true));
        assert_eq!(fit(128, 8, Overflow::Wrap), (-128, true));
        assert_eq!(fit(-129, 8, Overflow::Wrap), (127, true));
        assert_eq!(fit(256 + 5, 8, Overflow::Wrap), (5, true));
        assert_eq!(
            fit(i128::from(i64::MAX) + 1, 64, Overflow::Wrap),
            (i64::MIN, true)
        );
    }

    #[test]
    fn if_step_fires_and_subtracts() {
        let s = if_step(90, 20, 100, 16, Overflow::Saturate);
        assert_eq!(
            s,
            Step {
                v: 10,
                spike: true,
                overflow: false
            }
        );
        let s = if_step(90, 9, 100, 16, Overflow::Saturate);
        assert_eq!(
            s,
            Step {
                v: 99,
                spike: false,
                overflow: false
            }
        );
        // Saturation at 8 bits, then fire: 127 - 100.
        let s = if_step(120, 50, 100, 8, Overflow::Saturate);
        assert_eq!(
            s,
            Step {
                v: 27,
                spike: true,
                overflow: true
            }
        );
        // Wrapping to a negative value: no spike.
        let s = if_step(120, 50, 100, 8, Overflow::Wrap);
        assert_eq!(
            s,
            Step {
                v: -86,
                spike: false,
                overflow: true
            }
        );
    }

    fn rounding() -> impl Strategy<Value = Rounding> {
        prop::sample::select(Rounding::ALL.to_vec())
    }

    fn overflow() -> impl Strategy<Value = Overflow> {
        prop::sample::select(vec![Overflow::Saturate, Overflow::Wrap])
    }

    proptest! {
        /// Against a reference written independently with plain wide
        /// integers: saturation is min/max, wrapping is the low bits.
        #[test]
        fn fit_matches_wide_integer_reference(x in any::<i64>(), extra in -3i128..3, bits in 1u32..=64, mode in overflow()) {
            let x = i128::from(x) * 3 + extra;
            let (lo, hi) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
            let expect = match mode {
                Overflow::Saturate => x.max(lo).min(hi),
                Overflow::Wrap => {
                    let low = x & ((1i128 << bits) - 1);
                    if low > hi { low - (1i128 << bits) } else { low }
                }
            };
            let (got, flagged) = fit(x, bits, mode);
            prop_assert_eq!(i128::from(got), expect);
            prop_assert_eq!(flagged, x < lo || x > hi);
        }

        /// Rounding never moves a value by a unit or more, and each mode
        /// lands on its side.
        #[test]
        fn rounding_is_within_one_unit_on_the_right_side(x in -1e12f64..1e12, mode in rounding()) {
            let r = round(x, mode);
            prop_assert_eq!(r, r.trunc());
            prop_assert!((r - x).abs() < 1.0);
            match mode {
                Rounding::NearestEven | Rounding::Nearest => prop_assert!((r - x).abs() <= 0.5),
                Rounding::TowardZero => prop_assert!(r.abs() <= x.abs()),
                Rounding::Floor => prop_assert!(r <= x),
            }
        }

        /// The `fixed` crate as an independent oracle: converting to I8F8
        /// (16 bits, 8 fractional) rounds to nearest-even and saturates or
        /// wraps exactly as `quantize` does with scale 2^8.
        #[test]
        fn quantize_agrees_with_the_fixed_crate(x in -300.0f64..300.0) {
            use fixed::types::I8F8;
            let (sat, _) = quantize(x, 256.0, 16, Rounding::NearestEven, Overflow::Saturate).unwrap();
            prop_assert_eq!(sat, i64::from(I8F8::saturating_from_num(x).to_bits()));
            let (wrap, _) = quantize(x, 256.0, 16, Rounding::NearestEven, Overflow::Wrap).unwrap();
            prop_assert_eq!(wrap, i64::from(I8F8::wrapping_from_num(x).to_bits()));
        }

        /// A reported margin given back gives the same raw margin.
        #[test]
        fn margin_real_round_trips(raw in 1i64..(1 << 40), scale in 1e-3f64..1e3, frac in 0u32..30) {
            let m = margin_real(raw, scale, frac);
            prop_assert!(m > 0.0);
            prop_assert_eq!(margin_raw(m, scale, frac), raw);
        }

        /// Vector layer step == the scalar definition, neuron by neuron.
        #[test]
        fn layer_step_is_the_scalar_step(
            pairs in prop::collection::vec((-2000i64..2000, -500i64..500), 0..40),
            theta in 1i64..300,
            bits in 4u32..14,
            mode in overflow(),
        ) {
            let mut v: Vec<i32> = pairs.iter().map(|&(v, _)| fit(v.into(), bits, mode).0 as i32).collect();
            let current: Vec<i32> = pairs.iter().map(|&(_, c)| c as i32).collect();
            let mut expect_v = Vec::new();
            let (mut expect_spikes, mut expect_events) = (Vec::new(), 0);
            for (i, (&v0, &c)) in v.iter().zip(&current).enumerate() {
                let s = if_step(v0.into(), c.into(), theta, bits, mode);
                expect_v.push(s.v as i32);
                if s.spike { expect_spikes.push(i as u32); }
                expect_events += u64::from(s.overflow);
            }
            let v0 = v.clone();
            let mut v64: Vec<i64> = v.iter().map(|&x| i64::from(x)).collect();
            let current64: Vec<i64> = current.iter().map(|&x| i64::from(x)).collect();
            let mut scratch = vec![0; v.len()];
            let mut spikes = Vec::new();
            let events = if_step_layer(&mut v, &current, theta, bits, mode, &mut scratch, &mut spikes);
            prop_assert_eq!(&v, &expect_v);
            prop_assert_eq!(&spikes, &expect_spikes);
            prop_assert_eq!(events, expect_events);
            // The 8-lane path (narrow values; AVX2 where present) agrees.
            let (mut v4, mut spikes4) = (v0.clone(), Vec::new());
            let mut scratch4 = vec![0; v0.len() + 4];
            let events4 = i32::step_layer(&mut v4, &current, theta, bits, mode, true, false, &mut scratch4, &mut spikes4);
            prop_assert_eq!(&v4, &expect_v);
            prop_assert_eq!(&spikes4, &expect_spikes);
            prop_assert_eq!(events4, expect_events);
            // The general (i128) path of 64-bit storage agrees too.
            let mut spikes64 = Vec::new();
            let events64 = if_step_layer(&mut v64, &current64, theta, bits, mode, &mut scratch, &mut spikes64);
            prop_assert_eq!(v64, expect_v.iter().map(|&x| i64::from(x)).collect::<Vec<_>>());
            prop_assert_eq!(spikes64, expect_spikes);
            prop_assert_eq!(events64, expect_events);
        }
    }
}
