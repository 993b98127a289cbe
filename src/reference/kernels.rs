//! Float kernels of the reference CNN, one function per op, on one sample.
//!
//! Every activation is an `Array3<f32>` in `H x W x C` order; a flat vector
//! of `n` values is stored as `1 x 1 x n`, which makes Flatten a reshape (the
//! channels-last row-major order is exactly Keras's flatten order).

use ndarray::{s, Array2, Array3, ArrayView3, Axis, Zip};

use crate::ir::{window_range, Activation, BatchNorm, Conv2d, Dense, Pad, Pool2d, PoolKind};

/// Zero-pad a feature map on its four sides.
pub fn zero_pad(x: ArrayView3<f32>, pad: Pad) -> Array3<f32> {
    let (h, w, c) = x.dim();
    if pad == Pad::default() {
        return x.to_owned();
    }
    let mut out = Array3::zeros((h + pad.top + pad.bottom, w + pad.left + pad.right, c));
    out.slice_mut(s![pad.top..pad.top + h, pad.left..pad.left + w, ..])
        .assign(&x);
    out
}

/// Convolution by im2col and one matrix product: rows are output pixels,
/// columns the `kh * kw * cin` patch in the kernel's own memory order, so the
/// Keras kernel reshapes to the right-hand matrix without copying.
pub fn conv2d(x: ArrayView3<f32>, conv: &Conv2d) -> Array3<f32> {
    let (h, w, _) = x.dim();
    let padded = zero_pad(x, conv.window.pads(h, w));
    let (hp, wp, cin) = padded.dim();
    let (kh, kw, _, cout) = conv.kernel.dim();
    let (sh, sw) = conv.window.strides;
    let oh = (hp - kh) / sh + 1;
    let ow = (wp - kw) / sw + 1;
    let mut cols = Array2::<f32>::zeros((oh * ow, kh * kw * cin));
    for oy in 0..oh {
        for ox in 0..ow {
            let mut row = cols.row_mut(oy * ow + ox);
            for ky in 0..kh {
                let src = padded.slice(s![oy * sh + ky, ox * sw..ox * sw + kw, ..]);
                // A kernel row is kw * cin consecutive values in both layouts.
                let dst = row.slice_mut(s![ky * kw * cin..(ky + 1) * kw * cin]);
                Zip::from(dst)
                    .and(&src.to_shape(kw * cin).expect("contiguous patch row"))
                    .for_each(|d, &v| *d = v);
            }
        }
    }
    let kernel = conv
        .kernel
        .view()
        .into_shape_with_order((kh * kw * cin, cout))
        .expect("kernel is stored in standard layout");
    let mut out = cols.dot(&kernel);
    if let Some(bias) = &conv.bias {
        out += bias;
    }
    let mut out = out
        .into_shape_with_order((oh, ow, cout))
        .expect("oh * ow * cout elements");
    if let Some(map) = &conv.bias_map {
        out += &**map;
    }
    activate(&mut out, conv.activation);
    out
}

/// Fully connected layer on a `1 x 1 x n` vector.
pub fn dense(x: ArrayView3<f32>, dense: &Dense) -> Array3<f32> {
    let n = x.len();
    let v = x.to_shape(n).expect("flat vector");
    let mut out = v.dot(&dense.kernel);
    if let Some(bias) = &dense.bias {
        out += bias;
    }
    let units = out.len();
    let mut out = out
        .into_shape_with_order((1, 1, units))
        .expect("units elements");
    activate(&mut out, dense.activation);
    out
}

/// Inference-mode batch normalisation on the last axis.
pub fn batch_norm(x: ArrayView3<f32>, bn: &BatchNorm) -> Array3<f32> {
    let (scale, shift) = bn.affine();
    let mut out = x.to_owned();
    for mut lane in out.lanes_mut(Axis(2)) {
        for (c, v) in lane.iter_mut().enumerate() {
            *v = (f64::from(*v) * scale[c] + shift[c]) as f32;
        }
    }
    out
}

/// Apply an activation in place. Softmax works over the channel axis of each
/// pixel, which for a `1 x 1 x n` vector is the usual softmax.
pub fn activate(x: &mut Array3<f32>, activation: Activation) {
    match activation {
        Activation::Linear => {}
        Activation::Relu => x.mapv_inplace(|v| v.max(0.0)),
        Activation::Softmax => {
            for mut lane in x.lanes_mut(Axis(2)) {
                let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                lane.mapv_inplace(|v| (v - max).exp());
                let sum = lane.sum();
                lane.mapv_inplace(|v| v / sum);
            }
        }
    }
}

/// Average or max pooling; windows only count in-bounds elements, as
/// TensorFlow does for `same` padding.
pub fn pool2d(x: ArrayView3<f32>, pool: &Pool2d) -> Array3<f32> {
    let (h, w, c) = x.dim();
    let (oh, ow) = pool
        .window
        .output_size(h, w)
        .expect("shape inference accepted this pool");
    let pad = pool.window.pads(h, w);
    let (kh, kw) = pool.window.size;
    let (sh, sw) = pool.window.strides;
    let mut out = Array3::<f32>::zeros((oh, ow, c));
    for oy in 0..oh {
        // Window rows in input coordinates, clipped to the input.
        let ys = window_range(oy, sh, kh, pad.top, h);
        for ox in 0..ow {
            let xs = window_range(ox, sw, kw, pad.left, w);
            let (y0, y1, x0, x1) = (ys.start, ys.end, xs.start, xs.end);
            let window = x.slice(s![y0..y1, x0..x1, ..]);
            let mut dst = out.slice_mut(s![oy, ox, ..]);
            match pool.kind {
                PoolKind::Average => {
                    let count = ((y1 - y0) * (x1 - x0)) as f32;
                    dst.assign(&window.sum_axis(Axis(0)).sum_axis(Axis(0)));
                    dst.mapv_inplace(|v| v / count);
                }
                PoolKind::Max => {
                    dst.fill(f32::NEG_INFINITY);
                    for px in window.lanes(Axis(2)) {
                        Zip::from(&mut dst).and(&px).for_each(|d, &v| *d = d.max(v));
                    }
                }
            }
        }
    }
    out
}

/// Mean over height and width.
pub fn global_average_pool(x: ArrayView3<f32>) -> Array3<f32> {
    let (h, w, c) = x.dim();
    let sum = x.sum_axis(Axis(0)).sum_axis(Axis(0));
    let mean = sum.mapv(|v| v / (h * w) as f32);
    mean.into_shape_with_order((1, 1, c)).expect("c elements")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Padding, Window};
    use ndarray::{Array1, Array4};

    fn window(k: usize, s: usize, padding: Padding) -> Window {
        Window {
            size: (k, k),
            strides: (s, s),
            padding,
        }
    }

    /// Direct-loop convolution, the definition, to check the im2col version.
    fn conv_direct(x: &Array3<f32>, conv: &Conv2d) -> Array3<f32> {
        let (h, w, _) = x.dim();
        let p = zero_pad(x.view(), conv.window.pads(h, w));
        let (kh, kw, cin, cout) = conv.kernel.dim();
        let (oh, ow) = conv.window.output_size(h, w).unwrap();
        let (sh, sw) = conv.window.strides;
        let mut out = Array3::zeros((oh, ow, cout));
        for oy in 0..oh {
            for ox in 0..ow {
                for co in 0..cout {
                    let mut acc = conv.bias.as_ref().map_or(0.0, |b| b[co]);
                    for ky in 0..kh {
                        for kx in 0..kw {
                            for ci in 0..cin {
                                acc += p[[oy * sh + ky, ox * sw + kx, ci]]
                                    * conv.kernel[[ky, kx, ci, co]];
                            }
                        }
                    }
                    out[[oy, ox, co]] = acc;
                }
            }
        }
        out
    }

    #[test]
    fn im2col_conv_equals_direct_definition() {
        let x = Array3::from_shape_fn((7, 6, 3), |(a, b, c)| {
            ((a * 31 + b * 7 + c) % 11) as f32 - 5.0
        });
        for (k, s, pad) in [
            (3, 1, Padding::Same),
            (3, 2, Padding::Same),
            (2, 2, Padding::Valid),
            (5, 1, Padding::Valid),
        ] {
            let conv = Conv2d {
                kernel: Array4::from_shape_fn((k, k, 3, 4), |(a, b, c, d)| {
                    ((a + 2 * b + 3 * c + 5 * d) % 7) as f32 * 0.25 - 0.5
                }),
                bias: Some(Array1::from(vec![0.1, -0.2, 0.3, 0.0])),
                bias_map: None,
                window: window(k, s, pad),
                activation: Activation::Linear,
            };
            let fast = conv2d(x.view(), &conv);
            let slow = conv_direct(&x, &conv);
            assert_eq!(fast.dim(), slow.dim());
            let diff = (&fast - &slow)
                .mapv(f32::abs)
                .fold(0.0f32, |m, &v| m.max(v));
            assert!(diff < 1e-4, "k={k} s={s} {pad:?}: {diff}");
        }
    }

    #[test]
    fn same_average_pool_excludes_padding() {
        // 3x3 input of ones, 2x2 pool stride 2 'same': the bottom-right
        // window holds one real element, whose mean is still 1.
        let x = Array3::ones((3, 3, 1));
        let pool = Pool2d {
            kind: PoolKind::Average,
            window: window(2, 2, Padding::Same),
        };
        let y = pool2d(x.view(), &pool);
        assert_eq!(y.dim(), (2, 2, 1));
        assert!(y.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn max_pool_takes_window_max_with_negatives() {
        let x = Array3::from_shape_vec((2, 2, 1), vec![-4.0, -2.0, -3.0, -5.0]).unwrap();
        let pool = Pool2d {
            kind: PoolKind::Max,
            window: window(2, 2, Padding::Valid),
        };
        assert_eq!(pool2d(x.view(), &pool)[[0, 0, 0]], -2.0);
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut x = Array3::from_shape_vec((1, 1, 3), vec![1.0, 2.0, 3.0]).unwrap();
        activate(&mut x, Activation::Softmax);
        assert!((x.sum() - 1.0).abs() < 1e-6);
        assert!(x[[0, 0, 2]] > x[[0, 0, 1]]);
    }
}
