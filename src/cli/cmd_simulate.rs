//! `snncc simulate MODEL --calib XC --data X --labels Y --timesteps ...`:
//! ECC conversion and the float time-stepped SNN simulation.

use std::time::Instant;

use anyhow::{bail, Context};
use ndarray::{s, Axis};
use serde_json::json;
use snncc::ecc::{self, ConvertOptions, Norm};
use snncc::report::Table;
use snncc::snn::{self, metrics};
use snncc::{data, import, reference};

use super::progress;
use super::SimulateArgs;

/// Parse `max`, `p99`, `p99.9`, `p99.99` (any `pNN.N` percentile).
pub fn parse_norm(s: &str) -> Result<Norm, String> {
    if s == "max" {
        return Ok(Norm::Max);
    }
    let p = s
        .strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .filter(|p| *p > 0.0 && *p <= 100.0)
        .ok_or_else(|| format!("'{s}' is not max or a percentile like p99.9"))?;
    Ok(Norm::Percentile(p))
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let model = import::load_model(&args.model)?;
    let graph = &model.graph;
    let calib = data::read_images(&args.calib)?;
    reference::check_input(graph, calib.dim())
        .with_context(|| format!("calibration file {}", args.calib.display()))?;
    let mut images = data::read_images(&args.data)?;
    let mut labels = data::read_labels(&args.labels)?;
    if labels.len() != images.dim().0 {
        bail!(
            "{} has {} labels but {} has {} images; they must match one to one",
            args.labels.display(),
            labels.len(),
            args.data.display(),
            images.dim().0
        );
    }
    if let Some(limit) = args.limit {
        let n = limit.min(images.dim().0);
        images = images.slice_move(s![..n, .., .., ..]);
        labels.truncate(n);
    }
    reference::check_input(graph, images.dim())
        .with_context(|| format!("data file {}", args.data.display()))?;
    let mut timesteps = args.timesteps.clone();
    timesteps.sort_unstable();
    timesteps.dedup();
    if timesteps.first() == Some(&0) {
        bail!("--timesteps must be positive");
    }

    let options = ConvertOptions {
        norm: args.norm,
        per_channel: args.per_channel,
        h: args.h,
    };
    let started = Instant::now();
    let conversion = ecc::convert(graph, calib.view(), options)?;
    let convert_seconds = started.elapsed().as_secs_f64();
    for change in &conversion.log.changes {
        eprintln!("convert: {change}");
    }
    for warning in &conversion.log.warnings {
        eprintln!("warning: {warning}");
    }

    let n = images.dim().0;
    let bar = progress::bar(n, "cnn");
    let cnn = reference::predict(graph, images.view(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    let cnn_correct = cnn
        .axis_iter(Axis(0))
        .zip(&labels)
        .filter(|(row, &y)| reference::argmax(row.as_slice().expect("standard rows")) == y)
        .count();
    let cnn_accuracy = cnn_correct as f64 / n.max(1) as f64;

    let folded = &conversion.folded;
    let nodes = &conversion.layer_nodes;
    let lambdas: Vec<&Vec<f32>> = conversion.model.layers.iter().map(|l| &l.lambda).collect();
    let activations = |img: ndarray::ArrayView3<f32>| -> Vec<Vec<f32>> {
        let all = reference::run_all(folded, img);
        nodes
            .iter()
            .zip(&lambdas)
            .map(|(&node, lambda)| {
                let c = lambda.len();
                all[node]
                    .iter()
                    .enumerate()
                    .map(|(i, &a)| a / lambda[i % c])
                    .collect()
            })
            .collect()
    };
    let bar = progress::bar(n, &format!("snn T={}", timesteps.last().unwrap_or(&0)));
    let started = Instant::now();
    let report = snn::simulate_dataset(
        &conversion.model,
        images.view(),
        Some(&labels),
        &timesteps,
        Some(&activations),
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let sim_seconds = started.elapsed().as_secs_f64();

    if args.json {
        let runs: Vec<_> = report
            .runs
            .iter()
            .map(|r| {
                json!({
                    "timesteps": r.timesteps,
                    "accuracy": r.accuracy,
                    "loss_pp": 100.0 * (cnn_accuracy - r.accuracy),
                    "spikes_per_image": r.spikes_per_image,
                    "synops_per_image": r.synops_per_image,
                    "energy_ratio": r.energy_ratio,
                })
            })
            .collect();
        let doc = json!({
            "model": args.model,
            "n": n,
            "cnn_accuracy": cnn_accuracy,
            "cnn_macs_per_image": report.cnn_macs_per_image,
            "input_macs_per_image": report.input_macs_per_image,
            "norm": args.norm.label(),
            "per_channel": args.per_channel,
            "h": args.h,
            "runs": runs,
            "layers": report.layers,
            "energy_pj": {"synop": metrics::E_AC_PJ, "mac": metrics::E_MAC_PJ,
                          "source": "Horowitz ISSCC 2014, 45 nm, 32-bit float add / mult-add"},
            "conversion": {"seconds": convert_seconds, "changes": conversion.log.changes,
                           "warnings": conversion.log.warnings},
            "simulation_seconds": sim_seconds,
            "images_per_second": n as f64 / sim_seconds.max(1e-9),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "model '{}': CNN accuracy {:.2}% on {n} images; ECC with {} scales{}, h = {}",
        graph.name,
        100.0 * cnn_accuracy,
        args.norm.label(),
        if args.per_channel { " per channel" } else { "" },
        args.h
    );
    let mut table = Table::new([
        "T",
        "accuracy",
        "loss vs CNN",
        "spikes/img",
        "SynOps/img",
        "energy SNN/CNN",
    ]);
    for r in &report.runs {
        table.row([
            r.timesteps.to_string(),
            format!("{:.2}%", 100.0 * r.accuracy),
            format!("{:+.2} pp", 100.0 * (cnn_accuracy - r.accuracy)),
            format!("{:.0}", r.spikes_per_image),
            format!("{:.0}", r.synops_per_image),
            format!("{:.3}", r.energy_ratio),
        ]);
    }
    println!("\n{}", table.render());
    let t_max = timesteps.last().copied().unwrap_or(0);
    let mut layers = Table::new([
        "layer",
        "kind",
        "neurons",
        "spikes/img",
        "rate",
        "SynOps/img",
        "corr(CNN,SNN)",
    ]);
    for l in &report.layers {
        layers.row([
            l.name.clone(),
            l.kind.to_string(),
            l.neurons.to_string(),
            format!("{:.0}", l.spikes_per_image),
            format!("{:.4}", l.firing_rate),
            format!("{:.0}", l.synops_per_image),
            l.correlation.map_or("-".into(), |c| format!("{c:.3}")),
        ]);
    }
    println!("per layer at T={t_max}:\n{}", layers.render());
    println!(
        "CNN: {} MACs/img; SNN input layer: {:.0} MACs/img (once); energy: {} pJ/SynOp, {} pJ/MAC (Horowitz 2014, 45 nm float)",
        report.cnn_macs_per_image,
        report.input_macs_per_image,
        metrics::E_AC_PJ,
        metrics::E_MAC_PJ
    );
    println!(
        "conversion {:.3} s; simulation {:.2} s ({:.0} images/s at T={t_max})",
        convert_seconds,
        sim_seconds,
        n as f64 / sim_seconds.max(1e-9)
    );
    Ok(())
}
