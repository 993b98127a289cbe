//! Event routing shared by the float and the integer simulators: which
//! outputs each source pixel reaches (CSR tables built once per model), the
//! convolution scatter over those tables, and the spiking max gate.

use std::ops::AddAssign;

use super::dense::Dims;
use crate::ir::{window_range, Pad};

/// Where each source pixel's activity goes, precomputed once per model so the
/// per-spike work is table lookups and contiguous vector adds (CSR layout).
#[derive(Debug, Clone, Default)]
pub(crate) struct FanOut {
    /// `entries[start[p]..start[p + 1]]` belong to source pixel `p`.
    start: Vec<u32>,
    /// (kernel offset of the tap, output pixel) pairs; the kernel offset is
    /// `(ky * kw + kx) * cin * cout` for convolutions and unused for pools.
    entries: Vec<(u32, u32)>,
    /// For average pools: the in-bounds window size per output pixel
    /// (TensorFlow's average pooling ignores padding).
    pub window_sizes: Vec<u32>,
    /// `1 / window_sizes` (0 for an empty window), for the float simulator.
    pub inv_counts: Vec<f32>,
}

impl FanOut {
    /// Tables of a window-shaped synapse group: a convolution whose kernel
    /// rows are `cin_cout` apart per tap, or an average pool (`cin_cout` 0).
    /// `pool` says whether to record window sizes.
    pub fn windows(
        size: (usize, usize),
        strides: (usize, usize),
        pad: Pad,
        cin_cout: usize,
        src: Dims,
        out: Dims,
        pool: bool,
    ) -> FanOut {
        let mut start = Vec::with_capacity(src.h * src.w + 1);
        let mut entries = Vec::new();
        for y in 0..src.h {
            for x in 0..src.w {
                start.push(entries.len() as u32);
                for (ky, oy) in targets(y + pad.top, size.0, strides.0, out.h) {
                    for (kx, ox) in targets(x + pad.left, size.1, strides.1, out.w) {
                        let k_off = (ky * size.1 + kx) * cin_cout;
                        entries.push((k_off as u32, (oy * out.w + ox) as u32));
                    }
                }
            }
        }
        start.push(entries.len() as u32);
        let window_sizes = if pool {
            window_sizes(src, out, size, strides, pad.top, pad.left)
        } else {
            Vec::new()
        };
        let inv_counts = window_sizes
            .iter()
            .map(|&n| if n == 0 { 0.0 } else { 1.0 / n as f32 })
            .collect();
        FanOut {
            start,
            entries,
            window_sizes,
            inv_counts,
        }
    }

    #[inline]
    pub fn of(&self, pixel: usize) -> &[(u32, u32)] {
        &self.entries[self.start[pixel] as usize..self.start[pixel + 1] as usize]
    }
}

/// Call `$body(args)` compiled for 8-wide vectors where the CPU has them:
/// AVX for `f32`, AVX2 for integers (chosen at run time, so the binary
/// stays portable to any x86-64); elsewhere as compiled. `T: Value` must be
/// the generic parameter of the calling function.
macro_rules! vector_dispatch {
    ($body:ident ( $($arg:ident : $ty:ty),* )) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx")]
            unsafe fn avx<T: Value>($($arg: $ty),*) -> u64 {
                $body($($arg),*)
            }
            #[target_feature(enable = "avx2")]
            unsafe fn avx2<T: Value>($($arg: $ty),*) -> u64 {
                $body($($arg),*)
            }
            if T::INTEGER && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { avx2::<T>($($arg),*) };
            }
            if !T::INTEGER && std::arch::is_x86_feature_detected!("avx") {
                // SAFETY: the CPU supports AVX (checked just above).
                return unsafe { avx::<T>($($arg),*) };
            }
        }
        $body($($arg),*)
    }};
}

/// Convolution fan-out of binary spikes: per spike and tap, one kernel row
/// (`cout` weights of one input channel) added to one output pixel.
///
/// This is the simulator's hottest loop. Common channel counts get a copy
/// specialised on `cout`, so each row add is a few straight-line vector
/// instructions instead of a counted loop with a scalar tail; where the CPU
/// has AVX (AVX2 for integers) the same code is compiled a second time for
/// 8-wide vectors (`vector_dispatch`). Generic over the value type: `f32`
/// for the float simulator, `i32`/`i64` for the integer one.
pub(crate) fn scatter_conv<T: Value>(
    k: &[T],
    cin: usize,
    cout: usize,
    spikes: &[u32],
    fanout: &FanOut,
    current: &mut [T],
) -> u64 {
    vector_dispatch!(scatter_conv_dispatch(k: &[T], cin: usize, cout: usize, spikes: &[u32], fanout: &FanOut, current: &mut [T]))
}

/// Fully connected fan-out of binary spikes: each spike adds its kernel row
/// (`units` weights) to the current. Dispatched like `scatter_conv`.
pub(crate) fn scatter_dense<T: Value>(
    kernel: &[T],
    units: usize,
    spikes: &[u32],
    current: &mut [T],
) -> u64 {
    vector_dispatch!(scatter_dense_rows(kernel: &[T], units: usize, spikes: &[u32], current: &mut [T]))
}

#[inline(always)]
fn scatter_dense_rows<T: Value>(
    kernel: &[T],
    units: usize,
    spikes: &[u32],
    current: &mut [T],
) -> u64 {
    let current = &mut current[..units];
    for &i in spikes {
        let row = &kernel[i as usize * units..][..units];
        for (d, &w) in current.iter_mut().zip(row) {
            *d += w;
        }
    }
    (spikes.len() * units) as u64
}

/// What the scatter adds: float potentials or integer ones. 8-wide integer
/// adds need AVX2; for floats AVX suffices (and measured faster than code
/// compiled for AVX2 on this project's machines).
pub trait Value: Copy + AddAssign {
    const INTEGER: bool;
}

impl Value for f32 {
    const INTEGER: bool = false;
}

impl Value for i32 {
    const INTEGER: bool = true;
}

impl Value for i64 {
    const INTEGER: bool = true;
}

#[inline(always)]
fn scatter_conv_dispatch<T: Copy + AddAssign>(
    k: &[T],
    cin: usize,
    cout: usize,
    spikes: &[u32],
    fanout: &FanOut,
    current: &mut [T],
) -> u64 {
    match cout {
        4 => scatter_conv_fixed::<T, 4>(k, cin, spikes, fanout, current),
        8 => scatter_conv_fixed::<T, 8>(k, cin, spikes, fanout, current),
        16 => scatter_conv_fixed::<T, 16>(k, cin, spikes, fanout, current),
        32 => scatter_conv_fixed::<T, 32>(k, cin, spikes, fanout, current),
        64 => scatter_conv_fixed::<T, 64>(k, cin, spikes, fanout, current),
        _ => {
            let mut ops = 0u64;
            for &idx in spikes {
                let (px, ci) = (idx as usize / cin, idx as usize % cin);
                let taps = fanout.of(px);
                for &(k_off, o_px) in taps {
                    let (k0, o0) = (k_off as usize + ci * cout, o_px as usize * cout);
                    for (d, &w) in current[o0..o0 + cout].iter_mut().zip(&k[k0..k0 + cout]) {
                        *d += w;
                    }
                }
                ops += (taps.len() * cout) as u64;
            }
            ops
        }
    }
}

/// `scatter_conv` for a channel count `C` known at compile time.
#[inline(always)]
fn scatter_conv_fixed<T: Copy + AddAssign, const C: usize>(
    k: &[T],
    cin: usize,
    spikes: &[u32],
    fanout: &FanOut,
    current: &mut [T],
) -> u64 {
    let mut ops = 0u64;
    for &idx in spikes {
        let (px, ci) = (idx as usize / cin, idx as usize % cin);
        let taps = fanout.of(px);
        let channel = ci * C;
        for &(k_off, o_px) in taps {
            let row: &[T; C] = k[k_off as usize + channel..][..C]
                .try_into()
                .expect("a slice of length C");
            let dst: &mut [T; C] = (&mut current[o_px as usize * C..][..C])
                .try_into()
                .expect("a slice of length C");
            for (d, &w) in dst.iter_mut().zip(row) {
                *d += w;
            }
        }
        ops += (taps.len() * C) as u64;
    }
    ops
}

/// Output positions (with the kernel offset reaching them) along one axis for
/// an input at padded coordinate `p`: all `o` with `o * s <= p < o * s + k`.
pub(crate) fn targets(
    p: usize,
    k: usize,
    s: usize,
    out: usize,
) -> impl Iterator<Item = (usize, usize)> {
    let lo = (p + 1).saturating_sub(k).div_ceil(s);
    let hi = (p / s).min(out.saturating_sub(1));
    (lo..=hi)
        .filter(move |_| out > 0)
        .map(move |o| (p - o * s, o))
}

/// Number of in-bounds inputs of each output window (TensorFlow's average
/// pooling ignores padding).
fn window_sizes(
    src: Dims,
    out: Dims,
    size: (usize, usize),
    strides: (usize, usize),
    top: usize,
    left: usize,
) -> Vec<u32> {
    let axis =
        |o: usize, s: usize, k: usize, pad: usize, n: usize| window_range(o, s, k, pad, n).len();
    let mut inv = Vec::with_capacity(out.h * out.w);
    for oy in 0..out.h {
        for ox in 0..out.w {
            let n =
                axis(oy, strides.0, size.0, top, src.h) * axis(ox, strides.1, size.1, left, src.w);
            inv.push(n as u32);
        }
    }
    inv
}

/// Spiking max pooling. Each output tracks the maximum accumulated spike
/// count of its window: it spikes exactly when that maximum grows, so its
/// own count always equals the window's largest count (this step
/// included). While one input leads, this passes that input's spikes; when
/// inputs tie or the lead changes, it still never double-counts (a max over
/// counts rises by at most one per step). `gate_counts` is updated here.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gate(
    src_spikes: &[u32],
    counts: &[u32],
    gate_counts: &mut [u32],
    src: Dims,
    out: Dims,
    size: (usize, usize),
    strides: (usize, usize),
    pad: (usize, usize),
    emitted: &mut Vec<u32>,
) {
    for &idx in src_spikes {
        let idx = idx as usize;
        let c = idx % src.c;
        let px = idx / src.c;
        let (y, x) = (px / src.w, px % src.w);
        for (_, oy) in targets(y + pad.0, size.0, strides.0, out.h) {
            for (_, ox) in targets(x + pad.1, size.1, strides.1, out.w) {
                let o = (oy * out.w + ox) * out.c + c;
                // Only a spiking input's own count grew, so the window max
                // can exceed the gate's count only through it.
                if counts[idx] > gate_counts[o] {
                    gate_counts[o] += 1;
                    emitted.push(o as u32);
                }
            }
        }
    }
}
