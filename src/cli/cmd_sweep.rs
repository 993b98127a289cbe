//! `snncc sweep MODEL ... --bits 4,8,16 --timesteps 16,64,256 -o DIR`: the
//! fixed-point simulation over a grid of weight widths and simulation
//! lengths; CSV, Pareto front and SVG charts; resumable.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::json;
use snncc::quant::{self, QuantOptions};
use snncc::report::plot::{self, Chart, Series};
use snncc::report::Table;
use snncc::snn;
use snncc::sweep::{self, SweepPoint};

use super::cutoff::{self, CutoffArg};
use super::{dataset, progress, SweepArgs};
use snncc::pipeline::Network;

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    let timesteps = snn::Timesteps::new(args.timesteps.clone())
        .map_err(|e| anyhow::anyhow!("--timesteps: {e}"))?;
    if args.cutoff.cutoff == Some(CutoffArg::Auto) && args.calib.is_none() {
        bail!(
            "--cutoff auto chooses the margin on the calibration images: pass --calib XC \
             (a converted directory carries none), or give a margin (--cutoff 2.5)"
        );
    }
    let mut bits = args.bits.clone();
    bits.sort_unstable();
    bits.dedup();
    if let Some(b) = bits.iter().find(|&&b| !(2..=64).contains(&b)) {
        bail!("--bits {b}: weight widths must be between 2 and 64");
    }
    if args.output.exists() && !args.output.is_dir() {
        bail!("{} exists and is not a directory", args.output.display());
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;

    let network = super::network::load(&args.model, args.calib.as_deref(), &args.convert)?;
    let model = network.model();
    let (images, labels) = dataset::load(&args.data, &args.labels, args.limit, model)?;
    let n = images.dim().0;
    let t_max = timesteps.longest();

    // What makes two sweeps comparable; a resumed sweep must match.
    let mut settings = json!({
        "model": args.model, "data": args.data, "labels": args.labels, "images": n,
        "timesteps": *timesteps, "input_bits": args.formats.input_bits,
        "rounding": quant::Rounding::from(args.formats.rounding).name(),
        "overflow": quant::Overflow::from(args.formats.overflow).name(),
        "norm": args.convert.norm.label(), "per_channel": args.convert.per_channel(),
        "h": model.h,
    });
    // Only when used, so sweeps from before the cutoff still resume.
    if let Some(c) = args.cutoff.cutoff {
        settings["cutoff"] = match c {
            CutoffArg::Auto => json!({"auto": args.cutoff.cutoff_agreement}),
            CutoffArg::Margin(m) => json!({"margin": m}),
        };
    }
    let settings_path = args.output.join("settings.json");
    let csv_path = args.output.join("sweep.csv");
    if settings_path.exists() {
        let old: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&settings_path)
                .with_context(|| format!("reading {}", settings_path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", settings_path.display()))?;
        if old != settings {
            bail!(
                "{} holds a sweep with other settings ({}); use another -o directory or delete it",
                args.output.display(),
                settings_path.display()
            );
        }
    } else if csv_path.exists() {
        bail!(
            "{} has a sweep.csv but no settings.json; use another -o directory or delete it",
            args.output.display()
        );
    }
    std::fs::write(&settings_path, serde_json::to_string_pretty(&settings)?)
        .with_context(|| format!("writing {}", settings_path.display()))?;

    let mut points = sweep::read_points(&csv_path)?;
    if !points.is_empty() {
        // Rewritten in today's columns, so appended rows match the header.
        sweep::write_points(&csv_path, &points)?;
    }
    let done = |b: u32, points: &[SweepPoint]| {
        timesteps
            .iter()
            .all(|&t| points.iter().any(|p| p.bits == b && p.timesteps == t))
    };
    let todo: Vec<u32> = bits
        .iter()
        .copied()
        .filter(|&b| !done(b, &points))
        .collect();
    if todo.len() < bits.len() {
        eprintln!(
            "resuming: {} of {} weight widths already in {}",
            bits.len() - todo.len(),
            bits.len(),
            csv_path.display()
        );
    }
    let cnn_accuracy = match &network {
        Network::Converted { graph, .. } => {
            Some(dataset::cnn_accuracy(graph, images.view(), &labels)?)
        }
        Network::Dir(_) => None,
    };
    let bar = progress::bar(n * (todo.len() + 1), "sweep");
    let float = snn::simulate_dataset(
        model,
        images.view(),
        Some(&labels),
        &timesteps,
        None,
        &|| bar.inc(1),
    );
    for &b in &todo {
        bar.set_message(format!("{b} bits"));
        let options = QuantOptions {
            weight_bits: b,
            input_bits: args.formats.input_bits,
            timesteps: t_max,
            rounding: args.formats.rounding.into(),
            overflow: args.formats.overflow.into(),
        };
        let spec = quant::choose_formats(model, &options).with_context(|| format!("{b} bits"))?;
        let quantized = quant::quantize_model(model, &spec).with_context(|| format!("{b} bits"))?;
        let report = snncc::bitsim::simulate_quantized(
            &quantized.model,
            images.view(),
            Some(&labels),
            &timesteps,
            None,
            &|| bar.inc(1),
        );
        let memory = quantized.model.weight_memory_bits();
        // The cutoff's margin is this width's own (raw units differ).
        let cut = match args.cutoff.cutoff {
            Some(arg) => {
                let sim = cutoff::Sim::Fixed(&quantized.model);
                let resolved = cutoff::resolve(
                    arg,
                    args.cutoff.cutoff_agreement,
                    &sim,
                    model,
                    args.calib.as_deref(),
                    t_max,
                )
                .with_context(|| format!("{b} bits"))?;
                let report = cutoff::simulate(&sim, &resolved, images.view(), &labels, &timesteps);
                Some((resolved, report))
            }
            None => None,
        };
        let rows: Vec<SweepPoint> = report
            .runs
            .iter()
            .enumerate()
            .map(|(k, r)| SweepPoint {
                bits: b,
                timesteps: r.timesteps,
                accuracy: r.accuracy,
                // Rounded so the CSV shows 0.35, not 0.34999999999999476.
                loss_pp: cnn_accuracy.map(|a| (1e6 * 100.0 * (a - r.accuracy)).round() / 1e6),
                spikes_per_image: r.spikes_per_image,
                synops_per_image: r.synops_per_image,
                weight_memory_bits: memory,
                overflows: report.overflows,
                cutoff_margin: cut.as_ref().map(|c| c.0.margin),
                cutoff_margin_raw: cut.as_ref().and_then(|c| c.0.margin_raw),
                cutoff_accuracy: cut.as_ref().map(|c| c.1.runs[k].accuracy),
                mean_timesteps: cut.as_ref().map(|c| c.1.runs[k].mean_timesteps),
            })
            .collect();
        // Written per width, so an interruption keeps what is finished.
        sweep::append_points(&csv_path, &rows)?;
        points.retain(|p| p.bits != b);
        points.extend(rows);
    }
    bar.finish_and_clear();
    points.retain(|p| bits.contains(&p.bits) && timesteps.contains(&p.timesteps));
    points.sort_by_key(|p| (p.bits, p.timesteps));
    let front = sweep::pareto_front(&points);
    sweep::write_points(&args.output.join("pareto.csv"), &front)?;
    let float_runs: Vec<(f64, f64)> = float
        .runs
        .iter()
        .map(|r| (r.timesteps as f64, 100.0 * r.accuracy))
        .collect();
    write_charts(&args.output, &points, &bits, &float_runs, cnn_accuracy)?;
    print_summary(
        &points,
        &front,
        &bits,
        &timesteps,
        &float_runs,
        cnn_accuracy,
    );
    println!(
        "wrote {}/sweep.csv, pareto.csv, accuracy_vs_timesteps.svg, accuracy_vs_memory.svg",
        args.output.display()
    );
    Ok(())
}

fn write_charts(
    dir: &Path,
    points: &[SweepPoint],
    bits: &[u32],
    float_runs: &[(f64, f64)],
    cnn_accuracy: Option<f64>,
) -> anyhow::Result<()> {
    let mut series: Vec<Series> = bits
        .iter()
        .map(|&b| Series {
            name: format!("{b}-bit weights"),
            points: points
                .iter()
                .filter(|p| p.bits == b)
                .map(|p| (p.timesteps as f64, 100.0 * p.accuracy))
                .collect(),
            reference: false,
        })
        .collect();
    series.push(Series {
        name: "float SNN".into(),
        points: float_runs.to_vec(),
        reference: true,
    });
    if let Some(a) = cnn_accuracy {
        let (lo, hi) = (float_runs[0].0, float_runs[float_runs.len() - 1].0);
        series.push(Series {
            name: "CNN".into(),
            points: vec![(lo, 100.0 * a), (hi, 100.0 * a)],
            reference: true,
        });
    }
    plot::write_svg(
        &dir.join("accuracy_vs_timesteps.svg"),
        &Chart {
            title: "Accuracy vs simulation length",
            x_label: "timesteps T (log scale)",
            y_label: "accuracy (%)",
            log_x: true,
            series,
        },
    )
    .map_err(anyhow::Error::msg)?;
    let mut ts: Vec<usize> = points.iter().map(|p| p.timesteps).collect();
    ts.sort_unstable();
    ts.dedup();
    let series = ts
        .iter()
        .map(|&t| Series {
            name: format!("T={t}"),
            points: points
                .iter()
                .filter(|p| p.timesteps == t)
                .map(|p| (p.weight_memory_bits as f64 / 8192.0, 100.0 * p.accuracy))
                .collect(),
            reference: false,
        })
        .collect();
    plot::write_svg(
        &dir.join("accuracy_vs_memory.svg"),
        &Chart {
            title: "Accuracy vs weight memory",
            x_label: "weight memory (KiB, log scale)",
            y_label: "accuracy (%)",
            log_x: true,
            series,
        },
    )
    .map_err(anyhow::Error::msg)
}

fn print_summary(
    points: &[SweepPoint],
    front: &[SweepPoint],
    bits: &[u32],
    timesteps: &[usize],
    float_runs: &[(f64, f64)],
    cnn_accuracy: Option<f64>,
) {
    let mut header = vec!["weights".to_string(), "memory".to_string()];
    header.extend(timesteps.iter().map(|t| format!("T={t}")));
    header.push("overflows".into());
    let mut table = Table::new(header);
    for &b in bits {
        let row: Vec<&SweepPoint> = points.iter().filter(|p| p.bits == b).collect();
        let Some(first) = row.first() else { continue };
        let mut cells = vec![
            format!("{b} bits"),
            format!("{:.1} KiB", first.weight_memory_bits as f64 / 8192.0),
        ];
        cells.extend(timesteps.iter().map(|&t| {
            row.iter()
                .find(|p| p.timesteps == t)
                .map_or("-".into(), |p| format!("{:.2}%", 100.0 * p.accuracy))
        }));
        cells.push(first.overflows.to_string());
        table.row(cells);
    }
    let mut cells = vec!["float".to_string(), "-".to_string()];
    cells.extend(float_runs.iter().map(|&(_, a)| format!("{a:.2}%")));
    cells.push("-".into());
    table.row(cells);
    if let Some(a) = cnn_accuracy {
        println!("CNN accuracy {:.2}%", 100.0 * a);
    }
    println!("accuracy by weight width and T:\n{}", table.render());
    if points.iter().any(|p| p.mean_timesteps.is_some()) {
        let mut header = vec!["weights".to_string(), "margin (raw)".to_string()];
        header.extend(timesteps.iter().map(|t| format!("T<={t}")));
        let mut table = Table::new(header);
        for &b in bits {
            let row: Vec<&SweepPoint> = points.iter().filter(|p| p.bits == b).collect();
            let Some(first) = row.first() else { continue };
            let mut cells = vec![
                format!("{b} bits"),
                first
                    .cutoff_margin_raw
                    .map_or("-".into(), |r| r.to_string()),
            ];
            cells.extend(timesteps.iter().map(|&t| {
                row.iter()
                    .find(|p| p.timesteps == t)
                    .and_then(|p| Some((p.cutoff_accuracy?, p.mean_timesteps?)))
                    .map_or("-".into(), |(a, m)| format!("{:.2}% {m:.1} st", 100.0 * a))
            }));
            table.row(cells);
        }
        println!(
            "with the early cutoff (accuracy, mean steps):\n{}",
            table.render()
        );
    }
    let pareto: Vec<String> = front
        .iter()
        .map(|p| format!("{}b/T={} {:.2}%", p.bits, p.timesteps, 100.0 * p.accuracy))
        .collect();
    println!("Pareto front (accuracy, memory, T): {}", pareto.join(", "));
}
