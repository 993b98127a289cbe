//! `snncc sweep MODEL ... --bits 4,8,16 --timesteps 16,64,256 -o DIR`: the
//! fixed-point simulation over a grid of weight widths and simulation
//! lengths; CSV, Pareto front and SVG charts; resumable.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ndarray::s;
use serde_json::json;
use snncc::quant::{self, QuantOptions};
use snncc::report::Table;
use snncc::snn;
use snncc::sweep::shard::{self, Grid, Item, Kind, PartCutoff, PartRun, Partial, Shard, ShardFile};
use snncc::sweep::{self, SweepPoint};

use super::cutoff::{self, CutoffArg};
use super::{dataset, progress, SweepArgs};
use snncc::pipeline::Network;

/// A path clap requires unless `--merge` or `--status` is given.
fn given<'a>(path: &'a Option<PathBuf>, what: &str) -> anyhow::Result<&'a Path> {
    path.as_deref()
        .with_context(|| format!("{what} is needed (or --merge DIR / --status DIR)"))
}

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.status {
        return status(dir);
    }
    if let Some(dir) = &args.merge {
        return merge(dir);
    }
    let model_path = given(&args.model, "MODEL")?;
    let data_path = given(&args.data, "--data")?;
    let labels_path = given(&args.labels, "--labels")?;
    let output = given(&args.output, "-o DIR")?;
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
    if output.exists() && !output.is_dir() {
        bail!("{} exists and is not a directory", output.display());
    }
    if let Some(n) = args.slurm.slurm {
        return super::slurm::emit(&args.slurm, n.get(), "sweep", output, &["sweep", "--merge"]);
    }
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;

    let network = super::network::load(model_path, args.calib.as_deref(), &args.convert)?;
    let model = network.model();
    let (images, labels) = dataset::load(data_path, labels_path, args.limit, model)?;
    let n = images.dim().0;
    let t_max = timesteps.longest();

    // What makes two sweeps (or two shards) comparable; a resumed sweep
    // must match.
    let mut settings = json!({
        "model": model_path, "data": data_path, "labels": labels_path, "images": n,
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
    if args.convert.burst != snncc::ecc::Burst::Fixed(1) {
        settings["burst"] = json!(args.convert.burst.label());
        settings["burst_after"] = json!(args.convert.burst_after);
    }
    check_settings(output, &settings)?;

    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let grid = Grid {
        bits: bits.clone(),
        shards: shard.count(),
    };
    let shard_path = shard::shards_dir(output).join(shard.file_name());
    let mut file = ShardFile {
        settings: settings.clone(),
        bits: bits.clone(),
        shard: shard.index(),
        of: shard.count(),
        items: Vec::new(),
    };
    if let Some(old) = shard::read_shard(&shard_path)? {
        // Finished items of any width are kept (a rerun may add widths).
        file.items = old.items;
    }
    let todo: Vec<Item> = file.missing();
    let share = grid.items_of(shard);
    if todo.len() < share.len() {
        let widths_done = bits
            .iter()
            .filter(|&&b| {
                share
                    .iter()
                    .all(|i| i.kind != Kind::Bits(b) || !todo.contains(i))
            })
            .count();
        eprintln!(
            "resuming: {widths_done} of {} weight widths already in {}",
            bits.len(),
            shard_path.display()
        );
    }
    let work: usize = todo.iter().map(|i| i.images(n).len()).sum();
    let bar = progress::bar(work, "sweep");
    for item in &todo {
        bar.set_message(item.to_string());
        let partial = compute(
            item, args, &network, &images, &labels, &timesteps, t_max, &bar,
        )
        .with_context(|| item.to_string())?;
        file.items.push(partial);
        // After every item, so a killed shard keeps what is finished.
        shard::write_shard(&shard_path, &file)?;
    }
    bar.finish_and_clear();
    if shard.count() > 1 {
        println!(
            "shard {shard}: {} item(s) done in {}; once all {} shards are done: snncc sweep --merge {}",
            share.len(),
            shard_path.display(),
            shard.count(),
            output.display()
        );
        return Ok(());
    }
    let partials: Vec<&Partial> = file.items.iter().collect();
    let merged = shard::merge(&grid, &partials)?;
    finish(output, &grid, merged)
}

/// `settings.json` written, or checked against the one there.
fn check_settings(dir: &Path, settings: &serde_json::Value) -> anyhow::Result<()> {
    let settings_path = dir.join("settings.json");
    let csv_path = dir.join("sweep.csv");
    if settings_path.exists() {
        let old: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&settings_path)
                .with_context(|| format!("reading {}", settings_path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", settings_path.display()))?;
        if &old != settings {
            bail!(
                "{} holds a sweep with other settings ({}); use another -o directory or delete it",
                dir.display(),
                settings_path.display()
            );
        }
        return Ok(());
    } else if csv_path.exists() {
        bail!(
            "{} has a sweep.csv but no settings.json; use another -o directory or delete it",
            dir.display()
        );
    }
    // Whole or not at all: shards may start together on a shared disk.
    shard::write_atomic(
        &settings_path,
        serde_json::to_string_pretty(settings)?.as_bytes(),
    )?;
    Ok(())
}

/// One item: the float SNN (and the CNN) or one weight width, on its block.
#[allow(clippy::too_many_arguments)]
fn compute(
    item: &Item,
    args: &SweepArgs,
    network: &Network,
    images: &ndarray::Array4<f32>,
    labels: &[usize],
    timesteps: &snn::Timesteps,
    t_max: usize,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<Partial> {
    let model = network.model();
    let range = item.images(images.dim().0);
    let images = images.slice(s![range.clone(), .., .., ..]);
    let labels = &labels[range];
    let parts = |report: &snn::SimReport| -> Vec<PartRun> {
        report
            .runs
            .iter()
            .map(|r| PartRun {
                timesteps: r.timesteps,
                totals: r.totals,
            })
            .collect()
    };
    let b = match item.kind {
        Kind::Float => {
            let report =
                snn::simulate_dataset(model, images, Some(labels), timesteps, None, &|| bar.inc(1));
            let cnn_correct = match network {
                Network::Converted { graph, .. } => {
                    Some(dataset::cnn_correct(graph, images, labels)? as u64)
                }
                Network::Dir(_) => None,
            };
            return Ok(Partial {
                item: *item,
                runs: parts(&report),
                overflows: 0,
                weight_memory_bits: None,
                cnn_correct,
                cutoff: None,
            });
        }
        Kind::Bits(b) => b,
    };
    let options = QuantOptions {
        weight_bits: b,
        input_bits: args.formats.input_bits,
        timesteps: t_max,
        rounding: args.formats.rounding.into(),
        overflow: args.formats.overflow.into(),
    };
    let spec = quant::choose_formats(model, &options)?;
    let quantized = quant::quantize_model(model, &spec)?;
    let report = snncc::bitsim::simulate_quantized(
        &quantized.model,
        images,
        Some(labels),
        timesteps,
        None,
        &|| bar.inc(1),
    );
    // The cutoff's margin is this width's own (raw units differ).
    let cutoff = cutoff::run(
        &args.cutoff,
        &cutoff::Sim::Fixed(&quantized.model),
        model,
        args.calib.as_deref(),
        images,
        labels,
        timesteps,
    )?
    .map(|(resolved, report)| PartCutoff {
        margin: resolved.margin,
        margin_raw: resolved.margin_raw,
        runs: parts(&report),
    });
    Ok(Partial {
        item: *item,
        runs: parts(&report),
        overflows: report.overflows,
        weight_memory_bits: Some(quantized.model.weight_memory_bits()),
        cnn_correct: None,
        cutoff,
    })
}

/// `snncc sweep --merge DIR`.
fn merge(dir: &Path) -> anyhow::Result<()> {
    let files = shard::read_shards(dir)?;
    let grid = shard::complete(dir, &files)?;
    if let Ok(text) = std::fs::read_to_string(dir.join("settings.json")) {
        let settings: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", dir.join("settings.json").display()))?;
        if settings != files[0].settings {
            bail!(
                "{}: the shards were made with other settings than settings.json records; \
                 delete the stale shards or the folder",
                dir.display()
            );
        }
    }
    let partials: Vec<&Partial> = files.iter().flat_map(|f| &f.items).collect();
    eprintln!("merging {} shards of {}", grid.shards, dir.display());
    let merged = shard::merge(&grid, &partials)?;
    finish(dir, &grid, merged)
}

/// `snncc sweep --status DIR`.
fn status(dir: &Path) -> anyhow::Result<()> {
    let files = shard::read_shards(dir)?;
    let rows = shard::status(&files);
    let mut table = Table::new(vec![
        "shard".to_string(),
        "items done".into(),
        "state".into(),
    ]);
    for (label, done, share) in &rows {
        table.row(vec![
            label.clone(),
            format!("{done} of {share}"),
            if done == share {
                "done"
            } else {
                "running, failed or not started"
            }
            .into(),
        ]);
    }
    println!("{}", table.render());
    match shard::complete(dir, &files) {
        Ok(_) => println!("all shards done: snncc sweep --merge {}", dir.display()),
        Err(e) => println!("not ready to merge: {e}"),
    }
    Ok(())
}

/// The merged rows written as sweep.csv, pareto.csv and the charts, and
/// the summary printed.
fn finish(dir: &Path, grid: &Grid, merged: shard::Merged) -> anyhow::Result<()> {
    let out = sweep::charts::write_outputs(dir, grid, &merged)?;
    print_summary(
        &merged.points,
        &out.front,
        &grid.bits,
        &out.timesteps,
        &out.float_runs,
        merged.cnn_accuracy,
    );
    println!(
        "wrote {}/sweep.csv, pareto.csv, accuracy_vs_timesteps.svg, accuracy_vs_memory.svg",
        dir.display()
    );
    Ok(())
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
