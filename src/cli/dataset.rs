//! Reading a labelled test set for a network, with the checks every
//! simulating command needs, and the CNN's accuracy on it.

use std::path::Path;

use anyhow::bail;
use ndarray::{s, Array4, ArrayView4, Axis};
use snncc::ir::Graph;
use snncc::snn::SnnModel;
use snncc::{data, reference};

use super::progress;

/// Images and labels, one to one, the first `limit` of them, checked
/// against the network's input shape and number of classes.
pub fn load(
    data_path: &Path,
    labels_path: &Path,
    limit: Option<usize>,
    model: &SnnModel,
) -> anyhow::Result<(Array4<f32>, Vec<usize>)> {
    let mut images = data::read_images(data_path)?;
    let mut labels = data::read_labels(labels_path)?;
    if labels.len() != images.dim().0 {
        bail!(
            "{} has {} labels but {} has {} images; they must match one to one",
            labels_path.display(),
            labels.len(),
            data_path.display(),
            images.dim().0
        );
    }
    if let Some(limit) = limit {
        let n = limit.min(images.dim().0);
        images = images.slice_move(s![..n, .., .., ..]);
        labels.truncate(n);
    }
    let (_, h, w, c) = images.dim();
    if !model.input_shape.accepts(h, w, c) {
        bail!(
            "data file {}: images are {h}x{w}x{c}, the network takes {}",
            data_path.display(),
            model.input_shape
        );
    }
    if images.dim().0 == 0 {
        bail!(
            "no images to simulate ({} is empty or --limit is 0)",
            data_path.display()
        );
    }
    let classes = model.layers.last().map_or(0, |l| l.size());
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        bail!(
            "{}: label {l} at index {i} is out of range for {classes} outputs",
            labels_path.display()
        );
    }
    Ok((images, labels))
}

/// Fraction of `images` the CNN classifies as `labels` says.
pub fn cnn_accuracy(
    graph: &Graph,
    images: ArrayView4<f32>,
    labels: &[usize],
) -> anyhow::Result<f64> {
    Ok(cnn_correct(graph, images, labels)? as f64 / images.dim().0.max(1) as f64)
}

/// How many of `images` the CNN classifies as `labels` says.
pub fn cnn_correct(
    graph: &Graph,
    images: ArrayView4<f32>,
    labels: &[usize],
) -> anyhow::Result<usize> {
    let bar = progress::bar(images.dim().0, "cnn");
    let cnn = reference::predict(graph, images, &|| bar.inc(1))?;
    bar.finish_and_clear();
    Ok(cnn
        .axis_iter(Axis(0))
        .zip(labels)
        .filter(|(row, &y)| reference::argmax(row.as_slice().expect("standard rows")) == y)
        .count())
}
