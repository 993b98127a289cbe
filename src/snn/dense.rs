//! Dense (GEMM-style) propagation of one step's spikes: every synapse, not
//! only those of neurons that fired. Cheaper than event-driven scattering
//! when a large fraction of the source layer fires, and the baseline the
//! event-driven simulator is benchmarked against.

use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};

use super::model::Synapses;
use crate::ir::{window_range, Pad};

/// Geometry of a map, channels last.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Dims {
    /// A vector of `n` values is a `1 x 1 x n` map.
    pub fn of(shape: crate::ir::Shape) -> Dims {
        match shape {
            crate::ir::Shape::Map { h, w, c } => Dims { h, w, c },
            crate::ir::Shape::Vector { n } => Dims { h: 1, w: 1, c: n },
        }
    }
}

/// Buffers reused across steps: the spikes as a 0/1 map and the im2col
/// matrix of the largest convolution.
#[derive(Debug, Default)]
pub(super) struct DenseScratch {
    map: Vec<f32>,
    cols: Vec<f32>,
}

/// `current += synapses(spike map)`, computed over every synapse.
pub(super) fn propagate_dense(
    synapses: &Synapses,
    spikes: &[u32],
    src: Dims,
    out: Dims,
    scratch: &mut DenseScratch,
    current: &mut [f32],
) {
    let n_src = src.h * src.w * src.c;
    let mut map = std::mem::take(&mut scratch.map);
    map.clear();
    map.resize(n_src, 0.0);
    for &i in spikes {
        map[i as usize] += 1.0; // a burst lists a neuron once per spike
    }
    propagate_values(synapses, &map, src, out, &mut scratch.cols, current);
    scratch.map = map;
}

/// `current += synapses(map)` for real-valued source activity `map` (spikes
/// as 0/1, or rates); `cols` is im2col scratch space.
pub(super) fn propagate_values(
    synapses: &Synapses,
    map: &[f32],
    src: Dims,
    out: Dims,
    cols_buf: &mut Vec<f32>,
    current: &mut [f32],
) {
    match synapses {
        Synapses::Conv {
            kernel,
            strides,
            pad,
        } => {
            let (kh, kw, cin, cout) = kernel.dim();
            let patch = kh * kw * cin;
            let rows = out.h * out.w;
            cols_buf.clear();
            cols_buf.resize(rows * patch, 0.0);
            im2col(map, src, (kh, kw), *strides, *pad, out, cols_buf);
            let cols =
                ArrayView2::from_shape((rows, patch), cols_buf.as_slice()).expect("rows x patch");
            let k = kernel
                .view()
                .into_shape_with_order((patch, cout))
                .expect("kernels are kept in standard layout");
            let mut cur = ArrayViewMut2::from_shape((rows, cout), current).expect("rows x cout");
            general_mat_mul(1.0, &cols, &k, 1.0, &mut cur);
        }
        Synapses::Dense { kernel } => {
            let x = ArrayView1::from(map);
            let mut cur = ArrayViewMut1::from(current);
            general_mat_vec_mul(1.0, &kernel.t(), &x, 1.0, &mut cur);
        }
        Synapses::AvgPool {
            size,
            strides,
            pad,
            scale,
        } => {
            for oy in 0..out.h {
                let ys = window_range(oy, strides.0, size.0, pad.top, src.h);
                for ox in 0..out.w {
                    let xs = window_range(ox, strides.1, size.1, pad.left, src.w);
                    let inv = 1.0 / (ys.len() * xs.len()).max(1) as f32;
                    for c in 0..src.c {
                        let mut sum = 0.0;
                        for y in ys.clone() {
                            for x in xs.clone() {
                                sum += map[(y * src.w + x) * src.c + c];
                            }
                        }
                        current[(oy * out.w + ox) * out.c + c] += scale[c] * inv * sum;
                    }
                }
            }
        }
        Synapses::GlobalAvgPool { scale } => {
            let inv = 1.0 / (src.h * src.w) as f32;
            for (i, &s) in map.iter().enumerate() {
                current[i % src.c] += scale[i % src.c] * inv * s;
            }
        }
        Synapses::Identity { scale } => {
            for (i, &s) in map.iter().enumerate() {
                current[i] += scale[i % src.c] * s;
            }
        }
    }
}

/// Patches of the (implicitly zero-padded) map, one row per output pixel,
/// in the kernel's `ky, kx, cin` order.
fn im2col(
    map: &[f32],
    src: Dims,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    pad: Pad,
    out: Dims,
    cols: &mut [f32],
) {
    let patch = kh * kw * src.c;
    for oy in 0..out.h {
        for ox in 0..out.w {
            let row = &mut cols[(oy * out.w + ox) * patch..][..patch];
            for ky in 0..kh {
                let y = (oy * sh + ky) as isize - pad.top as isize;
                if y < 0 || y >= src.h as isize {
                    continue;
                }
                for kx in 0..kw {
                    let x = (ox * sw + kx) as isize - pad.left as isize;
                    if x < 0 || x >= src.w as isize {
                        continue;
                    }
                    let from = ((y as usize) * src.w + x as usize) * src.c;
                    row[(ky * kw + kx) * src.c..][..src.c]
                        .copy_from_slice(&map[from..from + src.c]);
                }
            }
        }
    }
}
