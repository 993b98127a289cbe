//! The operations a graph node can perform, with their parameters.
//!
//! These are the Keras layers snncc understands, translated into plain data
//! with every option resolved (no "defaults", no strings): once a model is in
//! this form, nothing downstream needs to know Keras existed.

use ndarray::{Array1, Array2, Array3, Array4};

/// Element-wise or per-vector nonlinearity applied after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Identity (Keras `linear` / `None`).
    Linear,
    /// `max(x, 0)`: the unit an integrate-and-fire neuron replaces.
    Relu,
    /// Softmax over the last axis; argmax-invariant, so conversion drops it.
    Softmax,
}

impl Activation {
    /// Keras's name for the activation.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Softmax => "softmax",
        }
    }
}

/// Keras padding mode of a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Padding {
    /// No padding: windows that would leave the input are dropped.
    Valid,
    /// TensorFlow "same": output size `ceil(in / stride)`, padding split with
    /// the extra row/column at the bottom/right.
    Same,
}

/// Explicit zero padding amounts on the four sides of a feature map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Pad {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

/// A 2-D sliding window: kernel size, strides and padding mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Window {
    /// Kernel (or pool) height and width.
    pub size: (usize, usize),
    /// Vertical and horizontal stride, both >= 1.
    pub strides: (usize, usize),
    pub padding: Padding,
}

impl Window {
    /// Output height and width for an input of `h x w`, or `None` when the
    /// window does not fit (a `valid` window larger than the input).
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let axis = |input: usize, k: usize, s: usize| match self.padding {
            Padding::Valid if input >= k => Some((input - k) / s + 1),
            Padding::Valid => None,
            Padding::Same => Some(input.div_ceil(s)),
        };
        let oh = axis(h, self.size.0, self.strides.0)?;
        let ow = axis(w, self.size.1, self.strides.1)?;
        (oh > 0 && ow > 0).then_some((oh, ow))
    }

    /// The implicit padding of this window on an `h x w` input.
    ///
    /// TensorFlow's rule for `same`: total padding
    /// `max((out - 1) * stride + k - in, 0)`, of which `total / 2` goes before
    /// (top/left) and the rest after, so odd totals pad bottom/right more.
    pub fn pads(&self, h: usize, w: usize) -> Pad {
        if self.padding == Padding::Valid {
            return Pad::default();
        }
        let axis = |input: usize, k: usize, s: usize| {
            let out = input.div_ceil(s);
            let total = ((out.saturating_sub(1)) * s + k).saturating_sub(input);
            (total / 2, total - total / 2)
        };
        let (top, bottom) = axis(h, self.size.0, self.strides.0);
        let (left, right) = axis(w, self.size.1, self.strides.1);
        Pad {
            top,
            bottom,
            left,
            right,
        }
    }
}

/// The in-bounds input range `start..end` along one axis of output window
/// `o`: the window covers padded positions `o * stride .. o * stride + size`,
/// of which `pad_before` lie before the input of length `len`. Pooling counts
/// and averages over exactly this range (TensorFlow ignores padding).
pub fn window_range(
    o: usize,
    stride: usize,
    size: usize,
    pad_before: usize,
    len: usize,
) -> std::ops::Range<usize> {
    let start = (o * stride).saturating_sub(pad_before);
    let end = (o * stride + size).saturating_sub(pad_before).min(len);
    start..end.max(start)
}

/// A 2-D convolution, channels last.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    /// Kernel in Keras layout: `kh x kw x in_channels x out_channels`.
    pub kernel: Array4<f32>,
    /// One bias per output channel, if the layer has one.
    pub bias: Option<Array1<f32>>,
    /// A correction added at each output position (`oh x ow x cout`), never
    /// in a Keras file: a BatchNormalization folded forward through zero
    /// padding adds its shift only where the kernel reads the map, not the
    /// padding, so border outputs get less of it than `bias` holds
    /// (docs/ecc.md, "BN folded forward").
    /// (Boxed: most convolutions have none, and `Op` stays small.)
    pub bias_map: Option<Box<Array3<f32>>>,
    pub window: Window,
    /// Activation fused into the layer (Keras `activation=` argument).
    pub activation: Activation,
}

/// A fully connected layer on a flat vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Kernel in Keras layout: `inputs x units`.
    pub kernel: Array2<f32>,
    pub bias: Option<Array1<f32>>,
    pub activation: Activation,
}

/// Inference-mode batch normalisation over the channel (last) axis:
/// `y = gamma * (x - mean) / sqrt(variance + epsilon) + beta`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Scale; all ones when the Keras layer has `scale=False`.
    pub gamma: Array1<f32>,
    /// Shift; all zeros when the Keras layer has `center=False`.
    pub beta: Array1<f32>,
    pub moving_mean: Array1<f32>,
    pub moving_variance: Array1<f32>,
    /// The layer's own epsilon (Keras default 0.001), never a global one.
    pub epsilon: f32,
    /// Whether the Keras layer learned `gamma` / `beta` (`scale` / `center`);
    /// only parameter counts depend on it.
    pub learned: (bool, bool),
}

impl BatchNorm {
    /// The equivalent per-channel affine map `y = a * x + b`, computed in f64
    /// so that folding it elsewhere loses no more precision than Keras does.
    pub fn affine(&self) -> (Vec<f64>, Vec<f64>) {
        let mut scale = Vec::with_capacity(self.gamma.len());
        let mut shift = Vec::with_capacity(self.gamma.len());
        for i in 0..self.gamma.len() {
            let s = (f64::from(self.moving_variance[i]) + f64::from(self.epsilon)).sqrt();
            let a = f64::from(self.gamma[i]) / s;
            scale.push(a);
            shift.push(f64::from(self.beta[i]) - a * f64::from(self.moving_mean[i]));
        }
        (scale, shift)
    }
}

/// Which reduction a pooling window applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// Mean over the window's in-bounds elements (padding is not counted,
    /// as in TensorFlow).
    Average,
    /// Maximum over the window's in-bounds elements.
    Max,
}

/// A 2-D pooling layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Pool2d {
    pub kind: PoolKind,
    pub window: Window,
}

/// What a node computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The model input; has no inputs of its own.
    Input,
    Conv2d(Conv2d),
    Dense(Dense),
    BatchNorm(BatchNorm),
    /// A standalone activation layer (Keras `ReLU`, `Activation`, `Softmax`).
    Activation(Activation),
    /// Feature map to vector in channels-last row-major order (as Keras).
    Flatten,
    /// Identity at inference; the rate is kept only for reporting.
    Dropout {
        rate: f32,
    },
    Pool2d(Pool2d),
    /// Mean over height and width; `keepdims` keeps a `1 x 1 x C` map.
    GlobalAveragePool {
        keepdims: bool,
    },
    ZeroPad2d(Pad),
    /// Element-wise sum of two or more inputs of one shape (residuals).
    Add,
}

impl Op {
    /// Short name used in tables and messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::Input => "Input",
            Op::Conv2d(_) => "Conv2D",
            Op::Dense(_) => "Dense",
            Op::BatchNorm(_) => "BatchNormalization",
            Op::Activation(_) => "Activation",
            Op::Flatten => "Flatten",
            Op::Dropout { .. } => "Dropout",
            Op::Pool2d(Pool2d {
                kind: PoolKind::Average,
                ..
            }) => "AveragePooling2D",
            Op::Pool2d(Pool2d {
                kind: PoolKind::Max,
                ..
            }) => "MaxPooling2D",
            Op::GlobalAveragePool { .. } => "GlobalAveragePooling2D",
            Op::ZeroPad2d(_) => "ZeroPadding2D",
            Op::Add => "Add",
        }
    }

    /// Number of trainable and statistical parameters, as Keras counts them.
    pub fn param_count(&self) -> usize {
        let bias_len = |b: &Option<Array1<f32>>| b.as_ref().map_or(0, |b| b.len());
        match self {
            Op::Conv2d(c) => c.kernel.len() + bias_len(&c.bias),
            Op::Dense(d) => d.kernel.len() + bias_len(&d.bias),
            Op::BatchNorm(b) => {
                (2 + usize::from(b.learned.0) + usize::from(b.learned.1)) * b.gamma.len()
            }
            _ => 0,
        }
    }

    /// All weight values of the node, for validity checks (NaN/Inf).
    pub fn weight_arrays(&self) -> Vec<(&'static str, &[f32])> {
        let arrays: Vec<(&'static str, Option<&[f32]>)> = match self {
            Op::Conv2d(c) => vec![
                ("kernel", c.kernel.as_slice()),
                ("bias", c.bias.as_ref().and_then(|b| b.as_slice())),
            ],
            Op::Dense(d) => vec![
                ("kernel", d.kernel.as_slice()),
                ("bias", d.bias.as_ref().and_then(|b| b.as_slice())),
            ],
            Op::BatchNorm(b) => vec![
                ("gamma", b.gamma.as_slice()),
                ("beta", b.beta.as_slice()),
                ("moving_mean", b.moving_mean.as_slice()),
                ("moving_variance", b.moving_variance.as_slice()),
            ],
            _ => Vec::new(),
        };
        arrays
            .into_iter()
            .filter_map(|(name, a)| a.map(|a| (name, a)))
            .collect()
    }

    /// The activation this node ends with, if any.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Op::Conv2d(c) => Some(c.activation),
            Op::Dense(d) => Some(d.activation),
            Op::Activation(a) => Some(*a),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(k: usize, s: usize, padding: Padding) -> Window {
        Window {
            size: (k, k),
            strides: (s, s),
            padding,
        }
    }

    #[test]
    fn valid_output_size_drops_partial_windows() {
        assert_eq!(
            window(5, 1, Padding::Valid).output_size(28, 28),
            Some((24, 24))
        );
        assert_eq!(window(2, 2, Padding::Valid).output_size(5, 5), Some((2, 2)));
        assert_eq!(window(5, 1, Padding::Valid).output_size(4, 4), None);
    }

    #[test]
    fn same_padding_follows_tensorflow() {
        // 3x3 stride 2 on 24: out 12, total pad (11*2+3-24)=1 -> 0 before, 1 after.
        let w = window(3, 2, Padding::Same);
        assert_eq!(w.output_size(24, 24), Some((12, 12)));
        let p = w.pads(24, 24);
        assert_eq!((p.top, p.bottom, p.left, p.right), (0, 1, 0, 1));
        // 3x3 stride 1: symmetric one-pixel border.
        let p = window(3, 1, Padding::Same).pads(7, 7);
        assert_eq!((p.top, p.bottom), (1, 1));
        // 2x2 stride 1: the single extra row goes to the bottom.
        let p = window(2, 1, Padding::Same).pads(7, 7);
        assert_eq!((p.top, p.bottom), (0, 1));
    }

    #[test]
    fn batch_norm_affine_matches_formula() {
        let bn = BatchNorm {
            gamma: Array1::from(vec![2.0]),
            beta: Array1::from(vec![0.5]),
            moving_mean: Array1::from(vec![1.0]),
            moving_variance: Array1::from(vec![3.999]),
            epsilon: 0.001,
            learned: (true, true),
        };
        let (a, b) = bn.affine();
        assert!((a[0] - 1.0).abs() < 1e-6);
        assert!((b[0] - -0.5).abs() < 1e-6);
    }
}
