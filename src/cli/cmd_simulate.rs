//! `snncc simulate MODEL --calib XC --data X --labels Y --timesteps ...`:
//! ECC conversion and the float time-stepped SNN simulation.

use std::time::Instant;

use anyhow::bail;
use serde_json::json;
use snncc::ecc::Norm;
use snncc::reference;
use snncc::report::Table;
use snncc::snn::{self, metrics};

use super::cutoff::{self, CutoffArg};
use super::SimulateArgs;
use super::{dataset, progress};
use anyhow::Context;
use snncc::pipeline::Network;
use snncc::report::trace_files;

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
    // Checked first: a bad option should not cost a conversion.
    let timesteps = snn::Timesteps::new(args.timesteps.clone())
        .map_err(|e| anyhow::anyhow!("--timesteps: {e}"))?;
    if args.cutoff.cutoff == Some(CutoffArg::Auto) && args.calib.is_none() {
        bail!(
            "--cutoff auto chooses the margin on the calibration images: pass --calib XC \
             (a converted directory carries none), or give a margin (--cutoff 2.5)"
        );
    }
    // A converted directory carries no CNN: no CNN accuracy, no correlation.
    let network = super::network::load(&args.model, args.calib.as_deref(), &args.convert)?;
    let (graph, conversion, convert_seconds) = match network {
        Network::Converted {
            graph,
            conversion,
            seconds,
        } => (Some(graph), Ok(conversion), seconds),
        Network::Dir(model) => (None, Err(model), 0.0),
    };
    let snn_model = match &conversion {
        Ok(c) => &c.model,
        Err(m) => m,
    };
    let t_max = timesteps.longest();
    let trace_kind = match &args.trace {
        None => None,
        Some(path) => match path.extension().and_then(|e| e.to_str()) {
            Some("vcd") => Some(TraceFile::Vcd),
            Some("npz") => Some(TraceFile::Npz),
            _ => bail!(
                "--trace {}: the file must end in .vcd (waveforms) or .npz (NumPy arrays)",
                path.display()
            ),
        },
    };
    let quantized = super::formats::resolve(
        snn_model,
        args.bits,
        args.quant.as_deref(),
        &args.formats,
        t_max,
    )?;
    let (images, labels) = dataset::load(&args.data, &args.labels, args.limit, snn_model)?;
    let n = images.dim().0;
    let cnn_accuracy = match &graph {
        Some(graph) => Some(dataset::cnn_accuracy(graph, images.view(), &labels)?),
        None => None,
    };
    // CNN activation / lambda per layer, for the rate correlation.
    let activations = |img: ndarray::ArrayView3<f32>| -> Vec<Vec<f32>> {
        let Ok(conv) = &conversion else {
            return Vec::new();
        };
        let all = reference::run_all(&conv.folded, img);
        conv.layer_nodes
            .iter()
            .zip(&conv.model.layers)
            .map(|(&node, layer)| {
                let c = layer.lambda.len();
                all[node]
                    .iter()
                    .enumerate()
                    .map(|(i, &a)| a / layer.lambda[i % c])
                    .collect()
            })
            .collect()
    };
    let reference_acts: Option<snn::metrics::ReferenceActivations> = if conversion.is_ok() {
        Some(&activations)
    } else {
        None
    };
    let bar = progress::bar(n, &format!("snn T={}", timesteps.longest()));
    let started = Instant::now();
    let report = match &quantized {
        Some(q) => snncc::bitsim::simulate_quantized(
            &q.model,
            images.view(),
            Some(&labels),
            &timesteps,
            reference_acts,
            &|| bar.inc(1),
        ),
        None => snn::simulate_dataset(
            snn_model,
            images.view(),
            Some(&labels),
            &timesteps,
            reference_acts,
            &|| bar.inc(1),
        ),
    };
    bar.finish_and_clear();
    let sim_seconds = started.elapsed().as_secs_f64();
    let sim = match &quantized {
        Some(q) => cutoff::Sim::Fixed(&q.model),
        None => cutoff::Sim::Float(snn_model),
    };
    // The margin first (auto simulates the calibration images), then the
    // test set again with it.
    let cutoff = cutoff::run(
        &args.cutoff,
        &sim,
        snn_model,
        args.calib.as_deref(),
        images.view(),
        &labels,
        &timesteps,
    )?;
    if let (Some(path), Some(kind)) = (&args.trace, trace_kind) {
        let image = images.index_axis(ndarray::Axis(0), 0);
        let resolved = cutoff.as_ref().map(|c| &c.0);
        let trace = match &quantized {
            Some(q) => snncc::bitsim::trace_quantized_cutoff(
                &q.model,
                image,
                t_max,
                resolved.and_then(|c| c.margin_raw),
            ),
            None => snn::sim::trace_cutoff(snn_model, image, t_max, resolved.map(|c| c.margin)),
        };
        let written = match kind {
            TraceFile::Vcd => trace_files::write_vcd_file(&trace, &snn_model.name, path),
            TraceFile::Npz => trace_files::write_npz(&trace, path),
        };
        written.with_context(|| format!("writing the trace {}", path.display()))?;
        eprintln!(
            "trace of image 0, {} steps, {} layers: {}",
            trace.timesteps,
            trace.layers.len(),
            path.display()
        );
    }

    if args.json {
        let runs: Vec<_> = report
            .runs
            .iter()
            .map(|r| {
                json!({
                    "timesteps": r.timesteps,
                    "accuracy": r.accuracy,
                    "loss_pp": cnn_accuracy.map(|a| 100.0 * (a - r.accuracy)),
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
            "norm": graph.as_ref().map(|_| args.convert.norm.label()),
            "per_channel": graph.as_ref().map(|_| args.convert.per_channel()),
            "h": snn_model.h,
            "h_layers": snn_model.h_layers,
            // The most spikes a neuron emits in a step, per layer.
            "burst": snn_model.layers.iter().map(|l| l.burst).collect::<Vec<_>>(),
            // Steps at one spike a step before bursts begin.
            "burst_after": snn_model.burst_after,
            "runs": runs,
            "layers": report.layers,
            "energy_pj": {"synop": metrics::E_AC_PJ, "mac": metrics::E_MAC_PJ,
                          "source": "Horowitz ISSCC 2014, 45 nm, 32-bit float add / mult-add"},
            "conversion": conversion.as_ref().ok().map(|c| json!({"seconds": convert_seconds,
                "changes": c.log.changes, "warnings": c.log.warnings})),
            "simulation_seconds": sim_seconds,
            "images_per_second": n as f64 / sim_seconds.max(1e-9),
            "datapath": if quantized.is_some() { "fixed" } else { "float" },
        });
        let mut doc = doc;
        if let Some(q) = &quantized {
            doc["quant"] = super::formats::quant_json(q);
            doc["overflows"] = json!(report.overflows);
        }
        if let Some((resolved, report)) = &cutoff {
            doc["cutoff"] = cutoff::json(resolved, report, cnn_accuracy);
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    let h = match &snn_model.h_layers {
        Some(hs) => format!(
            "initial potentials calibrated ({})",
            hs.iter()
                .map(|h| format!("{h:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("h = {}", snn_model.h),
    };
    match cnn_accuracy {
        Some(a) => println!(
            "model '{}': CNN accuracy {:.2}% on {n} images; ECC with {} scales{}, {h}",
            snn_model.name,
            100.0 * a,
            args.convert.norm.label(),
            if args.convert.per_channel() {
                " per channel"
            } else {
                ""
            },
        ),
        None => println!(
            "network '{}' from {} ({n} images, {h}); no CNN to compare with",
            snn_model.name,
            args.model.display(),
        ),
    }
    if let Some(q) = &quantized {
        println!(
            "fixed point: input {} ({} bits), {} rounding, {} on overflow, weight memory {} bits",
            q.model.input.format,
            q.model.input.format.bits(),
            q.model.rounding.name(),
            q.model.overflow.name(),
            q.model.weight_memory_bits()
        );
        println!("{}", super::formats::formats_table(q).render());
    }
    let table = cutoff::runs_table(&report, cnn_accuracy, "T", "spikes/img", &|r| {
        format!("{:.0}", r.spikes_per_image)
    });
    println!("\n{}", table.render());
    if let Some((resolved, report)) = &cutoff {
        cutoff::print(
            resolved,
            snncc::pipeline::cutoff::unit(snn_model),
            report,
            cnn_accuracy,
        );
    }
    let t_max = timesteps.last().copied().unwrap_or(0);
    let mut layers = Table::new([
        "layer",
        "kind",
        "neurons",
        "spikes/img",
        "rate",
        "SynOps/img",
        "corr(CNN,SNN)",
        "overflows/img",
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
            format!("{}", l.overflows_per_image),
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
    if conversion.is_ok() {
        print!("conversion {convert_seconds:.3} s; ");
    }
    println!(
        "simulation {sim_seconds:.2} s ({:.0} images/s at T={t_max})",
        n as f64 / sim_seconds.max(1e-9)
    );
    Ok(())
}

/// The file formats of `--trace`.
#[derive(Debug, Clone, Copy)]
enum TraceFile {
    Vcd,
    Npz,
}
