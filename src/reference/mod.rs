//! Float inference of an `ir::Graph`: the ground truth that every later stage
//! (conversion, fixed point, RTL) is measured against.

mod kernels;

use ndarray::{Array2, Array3, ArrayView3, ArrayView4};
use rayon::prelude::*;

use crate::ir::{Graph, Op, Shape};

/// Errors of the reference stage.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error(
        "model '{model}' takes inputs of shape {expected} (H x W x C), but the data has {got}"
    )]
    InputShape {
        model: String,
        expected: Shape,
        got: String,
    },
}

/// Check that images of `dims` (N, H, W, C) fit the graph's input.
pub fn check_input(
    graph: &Graph,
    dims: (usize, usize, usize, usize),
) -> Result<(), ReferenceError> {
    let (_, h, w, c) = dims;
    let expected = graph.input_shape();
    if expected.accepts(h, w, c) {
        Ok(())
    } else {
        Err(ReferenceError::InputShape {
            model: graph.name.clone(),
            expected,
            got: format!("{h}x{w}x{c}"),
        })
    }
}

/// Run the graph on one sample and return every node's output, indexed by
/// node id (activation statistics for conversion need all of them).
pub fn run_all(graph: &Graph, x: ArrayView3<f32>) -> Vec<Array3<f32>> {
    let mut values: Vec<Array3<f32>> = Vec::with_capacity(graph.nodes().len());
    for node in graph.nodes() {
        let arg = |i: usize| values[node.inputs[i]].view();
        let out = match &node.op {
            Op::Input => x.to_owned(),
            Op::Conv2d(conv) => kernels::conv2d(arg(0), conv),
            Op::Dense(dense) => kernels::dense(arg(0), dense),
            Op::BatchNorm(bn) => kernels::batch_norm(arg(0), bn),
            Op::Activation(act) => {
                let mut v = arg(0).to_owned();
                kernels::activate(&mut v, *act);
                v
            }
            Op::Flatten => {
                let v = arg(0);
                let n = v.len();
                v.as_standard_layout()
                    .into_owned()
                    .into_shape_with_order((1, 1, n))
                    .expect("n elements")
            }
            Op::Dropout { .. } => arg(0).to_owned(),
            Op::Pool2d(pool) => kernels::pool2d(arg(0), pool),
            Op::GlobalAveragePool { .. } => kernels::global_average_pool(arg(0)),
            Op::ZeroPad2d(pad) => kernels::zero_pad(arg(0), *pad),
            Op::Add => {
                let mut sum = arg(0).to_owned();
                for i in 1..node.inputs.len() {
                    sum += &arg(i);
                }
                sum
            }
        };
        values.push(out);
    }
    values
}

/// Run the graph on one sample and return its output as a flat vector.
pub fn run(graph: &Graph, x: ArrayView3<f32>) -> Vec<f32> {
    let mut values = run_all(graph, x);
    values.swap_remove(graph.output()).into_iter().collect()
}

/// Run the graph on a batch (`N x H x W x C`), samples in parallel, and return
/// the `N x outputs` matrix in input order. `progress` is called once per
/// finished sample (from worker threads).
pub fn predict(
    graph: &Graph,
    images: ArrayView4<f32>,
    progress: &(dyn Fn() + Sync),
) -> Result<Array2<f32>, ReferenceError> {
    check_input(graph, images.dim())?;
    let n = images.dim().0;
    let width = graph.output_shape().len();
    let input = graph.input_shape();
    let rows: Vec<Vec<f32>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let img = images.index_axis(ndarray::Axis(0), i);
            let row = match input {
                Shape::Map { .. } => run(graph, img),
                Shape::Vector { n } => {
                    let flat = img.to_shape((1, 1, n)).expect("checked input size");
                    run(graph, flat.view())
                }
            };
            progress();
            row
        })
        .collect();
    let flat: Vec<f32> = rows.into_iter().flatten().collect();
    Ok(Array2::from_shape_vec((n, width), flat).expect("n rows of the output width"))
}

/// Index of the largest value; ties go to the lowest index (documented in
/// docs/cli.md, and the same rule the SNN readout uses).
pub fn argmax<T: PartialOrd>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}
