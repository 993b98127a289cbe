//! Shape inference: the output shape of each op from its input shapes, and the
//! consistency checks between a node's weights and what flows into it.

use super::op::{Op, Pad};
use super::shape::Shape;

/// Output shape of `op` applied to inputs of `inputs` shapes, or the reason the
/// combination is impossible (a message for the user, without the node name,
/// which the caller adds).
pub fn infer_shape(op: &Op, inputs: &[Shape]) -> Result<Shape, String> {
    let single = || -> Result<Shape, String> {
        match inputs {
            [one] => Ok(*one),
            _ => Err(format!("expects exactly 1 input, got {}", inputs.len())),
        }
    };
    let map = |shape: Shape| -> Result<(usize, usize, usize), String> {
        match shape {
            Shape::Map { h, w, c } => Ok((h, w, c)),
            Shape::Vector { n } => Err(format!(
                "needs a H x W x C feature map as input, got a flat vector of {n}"
            )),
        }
    };
    match op {
        Op::Input => Err("an Input node takes its shape from the model, not from inputs".into()),
        Op::Conv2d(conv) => {
            let (h, w, c) = map(single()?)?;
            let (kh, kw, cin, cout) = conv.kernel.dim();
            if (kh, kw) != conv.window.size {
                return Err(format!(
                    "kernel weights are {kh}x{kw} but the config says {}x{}",
                    conv.window.size.0, conv.window.size.1
                ));
            }
            if cin != c {
                return Err(format!(
                    "kernel expects {cin} input channels, input has {c}"
                ));
            }
            check_bias(conv.bias.as_ref().map(|b| b.len()), cout)?;
            let (oh, ow) = conv.window.output_size(h, w).ok_or_else(|| {
                format!("a {kh}x{kw} kernel does not fit a {h}x{w} input with 'valid' padding")
            })?;
            if let Some(map) = &conv.bias_map {
                if map.dim() != (oh, ow, cout) {
                    return Err(format!(
                        "its border bias map is {:?}, the output {oh}x{ow}x{cout}",
                        map.dim()
                    ));
                }
            }
            Ok(Shape::Map {
                h: oh,
                w: ow,
                c: cout,
            })
        }
        Op::Dense(dense) => {
            let n = match single()? {
                Shape::Vector { n } => n,
                Shape::Map { h, w, c } => {
                    return Err(format!(
                        "input is a {h}x{w}x{c} feature map; snncc needs a Flatten or global pooling before Dense"
                    ))
                }
            };
            let (inputs, units) = dense.kernel.dim();
            if inputs != n {
                return Err(format!(
                    "kernel expects {inputs} inputs, the layer receives {n}"
                ));
            }
            check_bias(dense.bias.as_ref().map(|b| b.len()), units)?;
            Ok(Shape::Vector { n: units })
        }
        Op::BatchNorm(bn) => {
            let shape = single()?;
            let channels = shape.channels();
            for (name, len) in [
                ("gamma", bn.gamma.len()),
                ("beta", bn.beta.len()),
                ("moving_mean", bn.moving_mean.len()),
                ("moving_variance", bn.moving_variance.len()),
            ] {
                if len != channels {
                    return Err(format!(
                        "{name} has {len} values, the input has {channels} channels"
                    ));
                }
            }
            Ok(shape)
        }
        Op::Activation(_) | Op::Dropout { .. } => single(),
        Op::Flatten => Ok(Shape::Vector { n: single()?.len() }),
        Op::Pool2d(pool) => {
            let (h, w, c) = map(single()?)?;
            let (oh, ow) = pool.window.output_size(h, w).ok_or_else(|| {
                format!(
                    "a {}x{} pool does not fit a {h}x{w} input with 'valid' padding",
                    pool.window.size.0, pool.window.size.1
                )
            })?;
            Ok(Shape::Map { h: oh, w: ow, c })
        }
        Op::GlobalAveragePool { keepdims } => {
            let (_, _, c) = map(single()?)?;
            Ok(if *keepdims {
                Shape::Map { h: 1, w: 1, c }
            } else {
                Shape::Vector { n: c }
            })
        }
        Op::ZeroPad2d(Pad {
            top,
            bottom,
            left,
            right,
        }) => {
            let (h, w, c) = map(single()?)?;
            Ok(Shape::Map {
                h: h + top + bottom,
                w: w + left + right,
                c,
            })
        }
        Op::Add => {
            let Some(first) = inputs.first() else {
                return Err("has no inputs".into());
            };
            if inputs.len() < 2 {
                return Err(format!("needs at least 2 inputs, got {}", inputs.len()));
            }
            if let Some(other) = inputs.iter().find(|s| *s != first) {
                return Err(format!(
                    "inputs have different shapes ({first} and {other}); snncc does not broadcast"
                ));
            }
            Ok(*first)
        }
    }
}

fn check_bias(bias_len: Option<usize>, units: usize) -> Result<(), String> {
    match bias_len {
        Some(len) if len != units => Err(format!("bias has {len} values for {units} output units")),
        _ => Ok(()),
    }
}
