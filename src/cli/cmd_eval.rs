//! `snncc eval MODEL --data X --labels Y`: float CNN inference and accuracy.

use std::time::Instant;

use anyhow::{bail, Context};
use ndarray::{s, Axis};
use serde_json::json;
use snncc::{data, import, reference};

use super::progress;
use super::EvalArgs;

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let model = import::load_model(&args.model)?;
    let graph = &model.graph;
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
    reference::check_input(graph, images.dim())
        .with_context(|| format!("data file {}", args.data.display()))?;
    let classes = graph.output_shape().len();
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
    let outputs = reference::predict(graph, images.view(), &|| bar.inc(1))?;
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
        println!(
            "model '{}' ({}), {n} inputs from {}",
            graph.name,
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
