//! Keras layer configs -> IR ops.
//!
//! Done in two passes so that a user hears about *every* unsupported layer
//! at once, before any weight is read: `plan_layer` looks only at the
//! config; `build_op` then attaches the weights.

use ndarray::{Array1, Array2, Array4, ArrayD, Ix1};
use serde_json::Value;

use super::config::LayerSpec;
use super::weights::StoredWeights;
use crate::ir::{Activation, BatchNorm, Conv2d, Dense, Op, Pad, Padding, Pool2d, PoolKind, Window};

/// A layer's translation decided from its config alone.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerPlan {
    /// Input layer with its declared shape (batch axis removed).
    Input(Vec<Option<usize>>),
    Conv2d {
        filters: usize,
        window: Window,
        use_bias: bool,
        activation: Activation,
    },
    Dense {
        units: usize,
        use_bias: bool,
        activation: Activation,
    },
    BatchNorm {
        epsilon: f32,
        center: bool,
        scale: bool,
    },
    /// A weightless op, complete as it is.
    Fixed(Op),
}

impl LayerPlan {
    /// Names of the weights this layer stores, in Keras's creation order
    /// (which is the order `.keras` archives number them in).
    pub fn weight_names(&self) -> Vec<&'static str> {
        match self {
            LayerPlan::Conv2d { use_bias, .. } | LayerPlan::Dense { use_bias, .. } => {
                if *use_bias {
                    vec!["kernel", "bias"]
                } else {
                    vec!["kernel"]
                }
            }
            LayerPlan::BatchNorm { center, scale, .. } => {
                let mut names = Vec::new();
                if *scale {
                    names.push("gamma");
                }
                if *center {
                    names.push("beta");
                }
                names.extend(["moving_mean", "moving_variance"]);
                names
            }
            LayerPlan::Input(_) | LayerPlan::Fixed(_) => Vec::new(),
        }
    }

    /// The fused activation, if the layer has one.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            LayerPlan::Conv2d { activation, .. } | LayerPlan::Dense { activation, .. } => {
                Some(*activation)
            }
            LayerPlan::Fixed(op) => op.activation(),
            _ => None,
        }
    }
}

/// Decide how a layer translates, or every reason it cannot.
pub fn plan_layer(spec: &LayerSpec) -> Result<LayerPlan, Vec<String>> {
    let mut reasons = Vec::new();
    let cfg = Cfg {
        v: &spec.config,
        reasons: &mut reasons,
    };
    let plan = plan_with(&spec.class_name, cfg);
    if spec.calls > 1 {
        reasons.push(format!(
            "the layer is called {} times (shared weights); snncc needs one call per layer",
            spec.calls
        ));
    }
    match plan {
        Some(plan) if reasons.is_empty() => Ok(plan),
        _ => Err(reasons),
    }
}

fn plan_with(class: &str, mut cfg: Cfg) -> Option<LayerPlan> {
    let plan = match class {
        "InputLayer" => {
            let shape = ["batch_shape", "batch_input_shape"]
                .iter()
                .find_map(|k| cfg.v.get(*k).and_then(super::config::batch_shape));
            match shape {
                Some(s) => LayerPlan::Input(s),
                None => {
                    cfg.reasons.push("InputLayer has no batch_shape".into());
                    return None;
                }
            }
        }
        "Conv2D" | "Convolution2D" => {
            cfg.channels_last();
            cfg.expect_pair_of_ones("dilation_rate", "dilation is not supported");
            if cfg.usize_or("groups", 1) != 1 {
                cfg.reasons
                    .push("grouped convolution (groups > 1) is not supported".into());
            }
            let filters = cfg.usize_req("filters");
            let size = cfg.pair_req("kernel_size");
            let strides = cfg.pair_or("strides", (1, 1));
            let padding = cfg.padding();
            let use_bias = cfg.bool_or("use_bias", true);
            let activation = cfg.activation();
            LayerPlan::Conv2d {
                filters: filters?,
                window: Window {
                    size: size?,
                    strides,
                    padding: padding?,
                },
                use_bias,
                activation: activation?,
            }
        }
        "Dense" => {
            let units = cfg.usize_req("units");
            let use_bias = cfg.bool_or("use_bias", true);
            let activation = cfg.activation();
            LayerPlan::Dense {
                units: units?,
                use_bias,
                activation: activation?,
            }
        }
        "BatchNormalization" => {
            let axis_ok = match cfg.v.get("axis") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => matches!(n.as_i64(), Some(-1) | Some(3) | Some(1)),
                Some(Value::Array(a)) => {
                    a.len() == 1 && matches!(a[0].as_i64(), Some(-1) | Some(3) | Some(1))
                }
                _ => false,
            };
            if !axis_ok {
                cfg.reasons.push(format!(
                    "normalises axis {}; only the channel (last) axis is supported",
                    cfg.v["axis"]
                ));
            }
            if cfg.bool_or("renorm", false) {
                cfg.reasons
                    .push("batch renormalisation (renorm=True) is not supported".into());
            }
            LayerPlan::BatchNorm {
                epsilon: cfg.f32_or("epsilon", 0.001),
                center: cfg.bool_or("center", true),
                scale: cfg.bool_or("scale", true),
            }
        }
        "ReLU" => {
            if !matches!(cfg.v.get("max_value"), None | Some(Value::Null)) {
                cfg.reasons.push(format!(
                    "ReLU with max_value={} (a capped ReLU) is not supported",
                    cfg.v["max_value"]
                ));
            }
            for key in ["negative_slope", "threshold"] {
                if cfg.f32_or(key, 0.0) != 0.0 {
                    cfg.reasons.push(format!(
                        "ReLU with {key}={} is not supported (IF neurons implement plain ReLU)",
                        cfg.v[key]
                    ));
                }
            }
            LayerPlan::Fixed(Op::Activation(Activation::Relu))
        }
        "Activation" => LayerPlan::Fixed(Op::Activation(cfg.activation()?)),
        "Softmax" => {
            let axis = cfg.v.get("axis").and_then(Value::as_i64).unwrap_or(-1);
            if axis != -1 {
                cfg.reasons.push(format!(
                    "softmax over axis {axis}; only the last axis is supported"
                ));
            }
            LayerPlan::Fixed(Op::Activation(Activation::Softmax))
        }
        "Flatten" => {
            cfg.channels_last();
            LayerPlan::Fixed(Op::Flatten)
        }
        "Dropout" | "SpatialDropout2D" => LayerPlan::Fixed(Op::Dropout {
            rate: cfg.f32_or("rate", 0.0),
        }),
        "AveragePooling2D" | "AvgPool2D" | "MaxPooling2D" | "MaxPool2D" => {
            cfg.channels_last();
            let kind = if class.starts_with("Max") {
                PoolKind::Max
            } else {
                PoolKind::Average
            };
            let size = cfg.pair_or("pool_size", (2, 2));
            // Keras: strides=None means strides = pool_size.
            let strides = cfg.pair_or("strides", size);
            LayerPlan::Fixed(Op::Pool2d(Pool2d {
                kind,
                window: Window {
                    size,
                    strides,
                    padding: cfg.padding()?,
                },
            }))
        }
        "GlobalAveragePooling2D" | "GlobalAvgPool2D" => {
            cfg.channels_last();
            LayerPlan::Fixed(Op::GlobalAveragePool {
                keepdims: cfg.bool_or("keepdims", false),
            })
        }
        "ZeroPadding2D" => {
            cfg.channels_last();
            LayerPlan::Fixed(Op::ZeroPad2d(cfg.zero_padding()?))
        }
        "Add" => LayerPlan::Fixed(Op::Add),
        "Sequential" | "Functional" | "Model" => {
            cfg.reasons.push(
                "a nested model used as a layer is not supported; flatten it into one model before saving"
                    .into(),
            );
            return None;
        }
        other => {
            cfg.reasons
                .push(format!("layer type {other} is not supported"));
            return None;
        }
    };
    Some(plan)
}

/// Read access to one layer's config that records every problem it meets.
struct Cfg<'a> {
    v: &'a Value,
    reasons: &'a mut Vec<String>,
}

impl Cfg<'_> {
    fn channels_last(&mut self) {
        if let Some(Value::String(fmt)) = self.v.get("data_format") {
            if fmt != "channels_last" {
                self.reasons.push(format!(
                    "data_format '{fmt}' is not supported; snncc needs channels_last"
                ));
            }
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> bool {
        self.v.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    fn f32_or(&self, key: &str, default: f32) -> f32 {
        self.v
            .get(key)
            .and_then(Value::as_f64)
            .map_or(default, |v| v as f32)
    }

    fn usize_or(&self, key: &str, default: usize) -> usize {
        self.v
            .get(key)
            .and_then(Value::as_u64)
            .map_or(default, |v| v as usize)
    }

    fn usize_req(&mut self, key: &str) -> Option<usize> {
        let v = self.v.get(key).and_then(Value::as_u64).filter(|&v| v > 0);
        if v.is_none() {
            self.reasons
                .push(format!("'{key}' is missing or not a positive integer"));
        }
        v.map(|v| v as usize)
    }

    /// An int or a two-element list, as Keras accepts for sizes and strides.
    fn pair(v: &Value) -> Option<(usize, usize)> {
        let pos = |v: &Value| v.as_u64().filter(|&x| x > 0).map(|x| x as usize);
        match v {
            Value::Array(a) if a.len() == 2 => Some((pos(&a[0])?, pos(&a[1])?)),
            Value::Array(a) if a.len() == 1 => pos(&a[0]).map(|x| (x, x)),
            other => pos(other).map(|x| (x, x)),
        }
    }

    fn pair_req(&mut self, key: &str) -> Option<(usize, usize)> {
        let v = self.v.get(key).and_then(Self::pair);
        if v.is_none() {
            self.reasons.push(format!(
                "'{key}' is missing or not a pair of positive integers"
            ));
        }
        v
    }

    fn pair_or(&mut self, key: &str, default: (usize, usize)) -> (usize, usize) {
        match self.v.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => Self::pair(v).unwrap_or_else(|| {
                self.reasons
                    .push(format!("'{key}' = {v} is not a pair of positive integers"));
                default
            }),
        }
    }

    fn expect_pair_of_ones(&mut self, key: &str, reason: &str) {
        if let Some(v) = self.v.get(key) {
            if Self::pair(v) != Some((1, 1)) {
                self.reasons.push(format!("{key}={v}: {reason}"));
            }
        }
    }

    fn padding(&mut self) -> Option<Padding> {
        match self
            .v
            .get("padding")
            .and_then(Value::as_str)
            .unwrap_or("valid")
        {
            "valid" => Some(Padding::Valid),
            "same" => Some(Padding::Same),
            other => {
                self.reasons.push(format!(
                    "padding '{other}' is not supported (valid or same)"
                ));
                None
            }
        }
    }

    fn zero_padding(&mut self) -> Option<Pad> {
        let v = self.v.get("padding").cloned().unwrap_or(Value::from(1));
        let num = |v: &Value| v.as_u64().map(|x| x as usize);
        let pair = |v: &Value| -> Option<(usize, usize)> {
            match v {
                Value::Array(a) if a.len() == 2 => Some((num(&a[0])?, num(&a[1])?)),
                other => num(other).map(|x| (x, x)),
            }
        };
        let parsed = match &v {
            Value::Array(a) if a.len() == 2 => match (&a[0], &a[1]) {
                // ((top, bottom), (left, right))
                (Value::Array(_), Value::Array(_)) => pair(&a[0]).zip(pair(&a[1])),
                // (symmetric_height, symmetric_width)
                (h, w) => num(h).zip(num(w)).map(|(h, w)| ((h, h), (w, w))),
            },
            other => num(other).map(|p| ((p, p), (p, p))),
        };
        match parsed {
            Some(((top, bottom), (left, right))) => Some(Pad {
                top,
                bottom,
                left,
                right,
            }),
            None => {
                self.reasons
                    .push(format!("cannot read ZeroPadding2D padding {v}"));
                None
            }
        }
    }

    fn activation(&mut self) -> Option<Activation> {
        // tf.keras 2 and Keras 3 write a name; some Keras 3 files a
        // serialised function object whose `config` is the name.
        let name = match self.v.get("activation") {
            None | Some(Value::Null) => "linear",
            Some(Value::String(s)) => s.as_str(),
            Some(obj) => obj
                .get("config")
                .and_then(Value::as_str)
                .unwrap_or("<custom>"),
        };
        match name {
            "linear" => Some(Activation::Linear),
            "relu" => Some(Activation::Relu),
            "softmax" => Some(Activation::Softmax),
            other => {
                self.reasons.push(format!(
                    "activation '{other}' is not supported (only relu in hidden layers; linear or softmax at the output)"
                ));
                None
            }
        }
    }
}

/// Attach weights to a planned layer, producing its IR op. `Err` is a reason
/// naming which weight is wrong; the caller adds file and layer.
pub fn build_op(plan: &LayerPlan, stored: StoredWeights) -> Result<Op, String> {
    let names = plan.weight_names();
    let mut arrays = stored.take(&names)?.into_iter();
    let mut next = || arrays.next().expect("take returns one array per name");
    Ok(match plan {
        LayerPlan::Input(_) => Op::Input,
        LayerPlan::Fixed(op) => op.clone(),
        LayerPlan::Conv2d {
            filters,
            window,
            use_bias,
            activation,
        } => {
            let kernel: Array4<f32> = dims(next(), "kernel")?;
            let (kh, kw, _, cout) = kernel.dim();
            if (kh, kw) != window.size || cout != *filters {
                return Err(format!(
                    "kernel has shape {:?}, the config says {}x{} kernels and {filters} filters",
                    kernel.shape(),
                    window.size.0,
                    window.size.1
                ));
            }
            let bias = use_bias.then(|| dims::<Ix1>(next(), "bias")).transpose()?;
            Op::Conv2d(Conv2d {
                kernel,
                bias,
                bias_map: None,
                window: *window,
                activation: *activation,
            })
        }
        LayerPlan::Dense {
            units,
            use_bias,
            activation,
        } => {
            let kernel: Array2<f32> = dims(next(), "kernel")?;
            if kernel.dim().1 != *units {
                return Err(format!(
                    "kernel has shape {:?}, the config says {units} units",
                    kernel.shape()
                ));
            }
            let bias = use_bias.then(|| dims::<Ix1>(next(), "bias")).transpose()?;
            Op::Dense(Dense {
                kernel,
                bias,
                activation: *activation,
            })
        }
        LayerPlan::BatchNorm {
            epsilon,
            center,
            scale,
        } => {
            let gamma = scale.then(|| dims::<Ix1>(next(), "gamma")).transpose()?;
            let beta = center.then(|| dims::<Ix1>(next(), "beta")).transpose()?;
            let moving_mean: Array1<f32> = dims(next(), "moving_mean")?;
            let moving_variance: Array1<f32> = dims(next(), "moving_variance")?;
            let n = moving_mean.len();
            Op::BatchNorm(BatchNorm {
                gamma: gamma.unwrap_or_else(|| Array1::ones(n)),
                beta: beta.unwrap_or_else(|| Array1::zeros(n)),
                moving_mean,
                moving_variance,
                epsilon: *epsilon,
                learned: (*scale, *center),
            })
        }
    })
}

fn dims<D: ndarray::Dimension>(
    a: ArrayD<f32>,
    what: &str,
) -> Result<ndarray::Array<f32, D>, String> {
    let shape = a.shape().to_vec();
    a.as_standard_layout()
        .into_owned()
        .into_dimensionality::<D>()
        .map_err(|_| {
            format!(
                "weight '{what}' has shape {shape:?}, expected {} dimensions",
                D::NDIM.unwrap_or(0)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(class: &str, config: Value) -> LayerSpec {
        LayerSpec {
            name: "l".into(),
            class_name: class.into(),
            config,
            inbound: vec![],
            calls: 1,
        }
    }

    #[test]
    fn conv_reports_every_problem_at_once() {
        let reasons = plan_layer(&spec(
            "Conv2D",
            json!({"filters": 4, "kernel_size": [3,3], "dilation_rate": [2,2], "groups": 2,
                   "data_format": "channels_first", "activation": "tanh"}),
        ))
        .unwrap_err();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons.iter().any(|r| r.contains("dilation")));
        assert!(reasons.iter().any(|r| r.contains("groups")));
        assert!(reasons.iter().any(|r| r.contains("channels_first")));
        assert!(reasons.iter().any(|r| r.contains("tanh")));
    }

    #[test]
    fn pool_strides_default_to_pool_size() {
        let plan = plan_layer(&spec(
            "MaxPooling2D",
            json!({"pool_size": [3,3], "strides": null}),
        ))
        .unwrap();
        let LayerPlan::Fixed(Op::Pool2d(p)) = plan else {
            panic!("{plan:?}")
        };
        assert_eq!(p.window.strides, (3, 3));
    }

    #[test]
    fn zero_padding_forms() {
        for (v, want) in [
            (json!(2), (2, 2, 2, 2)),
            (json!([1, 3]), (1, 1, 3, 3)),
            (json!([[1, 2], [0, 1]]), (1, 2, 0, 1)),
        ] {
            let plan = plan_layer(&spec("ZeroPadding2D", json!({"padding": v}))).unwrap();
            let LayerPlan::Fixed(Op::ZeroPad2d(p)) = plan else {
                panic!()
            };
            assert_eq!((p.top, p.bottom, p.left, p.right), want);
        }
    }

    #[test]
    fn unknown_layer_and_capped_relu_are_refused() {
        assert!(plan_layer(&spec("LSTM", json!({}))).unwrap_err()[0].contains("LSTM"));
        assert!(
            plan_layer(&spec("ReLU", json!({"max_value": 6.0}))).unwrap_err()[0]
                .contains("max_value")
        );
    }

    #[test]
    fn batch_norm_weight_order_follows_flags() {
        let plan = plan_layer(&spec("BatchNormalization", json!({"scale": false}))).unwrap();
        assert_eq!(
            plan.weight_names(),
            vec!["beta", "moving_mean", "moving_variance"]
        );
    }
}
