//! `snncc eval MODEL --data X --labels Y`: float CNN inference and accuracy.

use std::time::Instant;

use anyhow::bail;
use ndarray::Array2;
use ndarray::{s, Axis};
use rayon::prelude::*;
use serde_json::json;
use snncc::{data, import, reference, snn};

use super::progress;
use super::EvalArgs;

/// What `eval` runs: the Keras CNN, or the rate limit (T -> infinity) of a
/// converted network directory.
enum Evaluated {
    Cnn(snncc::ir::Graph),
    RateLimit(snn::SnnModel),
}

impl Evaluated {
    fn name(&self) -> &str {
        match self {
            Evaluated::Cnn(g) => &g.name,
            Evaluated::RateLimit(m) => &m.name,
        }
    }

    fn input_shape(&self) -> snncc::ir::Shape {
        match self {
            Evaluated::Cnn(g) => g.input_shape(),
            Evaluated::RateLimit(m) => m.input_shape,
        }
    }

    fn outputs(&self) -> usize {
        match self {
            Evaluated::Cnn(g) => g.output_shape().len(),
            Evaluated::RateLimit(m) => m.layers.last().map_or(0, |l| l.size()),
        }
    }

    fn predict(
        &self,
        images: ndarray::ArrayView4<f32>,
        progress: &(dyn Fn() + Sync),
    ) -> anyhow::Result<Array2<f32>> {
        match self {
            Evaluated::Cnn(g) => Ok(reference::predict(g, images, progress)?),
            Evaluated::RateLimit(m) => {
                let rows: Vec<Vec<f32>> = (0..images.dim().0)
                    .into_par_iter()
                    .map(|i| {
                        let row = snn::rates::rate_limit_outputs(m, images.index_axis(Axis(0), i));
                        progress();
                        row
                    })
                    .collect();
                let width = self.outputs();
                Ok(Array2::from_shape_vec((rows.len(), width), rows.concat())?)
            }
        }
    }
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let model = if snn::is_net_dir(&args.model) {
        Evaluated::RateLimit(snn::load_net(&args.model)?)
    } else {
        Evaluated::Cnn(import::load_model(&args.model)?.graph)
    };
    let mut images = data::read_images(&args.data)?;
    let mut labels = match &args.labels {
        Some(path) => {
            let labels = data::read_labels(path)?;
            if labels.len() != images.dim().0 {
                bail!(
                    "{} has {} labels but {} has {} images; they must match one to one",
                    path.display(),
                    labels.len(),
                    args.data.display(),
                    images.dim().0
                );
            }
            Some(labels)
        }
        None => None,
    };
    if let Some(limit) = args.limit {
        let n = limit.min(images.dim().0);
        images = images.slice_move(s![..n, .., .., ..]);
        if let Some(l) = labels.as_mut() {
            l.truncate(n);
        }
    }
    if images.dim().0 == 0 {
        bail!(
            "no images to evaluate ({} is empty or --limit is 0)",
            args.data.display()
        );
    }
    let (_, h, w, c) = images.dim();
    let expected = model.input_shape();
    if !expected.accepts(h, w, c) {
        bail!(
            "data file {}: model '{}' takes inputs of shape {expected} (H x W x C), but the data has {h}x{w}x{c}",
            args.data.display(),
            model.name()
        );
    }
    let classes = model.outputs();
    if let (Some(labels), Some(path)) = (&labels, &args.labels) {
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
            bail!(
                "{}: label {l} at index {i} is out of range for a model with {classes} outputs",
                path.display()
            );
        }
    }

    let n = images.dim().0;
    let bar = progress::bar(n, "eval");
    let started = Instant::now();
    let outputs = model.predict(images.view(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();

    if let Some(path) = &args.dump_outputs {
        data::write_npy_f32(path, outputs.view())?;
    }
    let predictions: Vec<usize> = outputs
        .axis_iter(Axis(0))
        .map(|row| reference::argmax(row.as_slice().expect("rows of a standard array")))
        .collect();
    let correct = labels.as_ref().map(|labels| {
        predictions
            .iter()
            .zip(labels)
            .filter(|(p, l)| p == l)
            .count()
    });
    let accuracy = correct.map(|c| if n == 0 { 0.0 } else { c as f64 / n as f64 });

    if args.json {
        let doc = json!({
            "model": args.model,
            "data": args.data,
            "n": n,
            "accuracy": accuracy,
            "correct": correct,
            "classes": classes,
            "seconds": seconds,
            "images_per_second": if seconds > 0.0 { n as f64 / seconds } else { 0.0 },
            "outputs": args.dump_outputs,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let what = match model {
            Evaluated::Cnn(_) => "model",
            Evaluated::RateLimit(_) => "rate limit (T -> infinity) of converted network",
        };
        println!(
            "{what} '{}' ({}), {n} inputs from {}",
            model.name(),
            args.model.display(),
            args.data.display()
        );
        match (accuracy, correct) {
            (Some(a), Some(c)) => println!("accuracy {:.2}% ({c}/{n})", 100.0 * a),
            _ => println!("no labels given: accuracy not computed"),
        }
        println!(
            "{:.3} s, {:.0} images/s",
            seconds,
            n as f64 / seconds.max(1e-9)
        );
        if let Some(path) = &args.dump_outputs {
            println!(
                "outputs ({n} x {classes}, float32) written to {}",
                path.display()
            );
        }
    }
    Ok(())
}
