//! `snncc quantize MODEL --bits W -o q.yaml`: automatic fixed-point formats,
//! written as editable YAML; and the fixed-point helpers `simulate` shares.

use std::path::Path;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use snncc::config;
use snncc::quant::{self, QLayerKind, QuantOptions, Quantized};
use snncc::report::Table;
use snncc::snn::SnnModel;

use super::{FormatFlags, QuantizeArgs};

/// The quantisation asked for on the command line, if any: automatic
/// formats for `bits`-bit weights proven for `timesteps` steps, or a YAML
/// file. Warnings go to stderr.
pub fn resolve(
    model: &SnnModel,
    bits: Option<u32>,
    file: Option<&Path>,
    flags: &FormatFlags,
    timesteps: usize,
) -> anyhow::Result<Option<Quantized>> {
    let spec = match (bits, file) {
        (Some(bits), _) => {
            let options = QuantOptions {
                weight_bits: bits,
                input_bits: flags.input_bits,
                timesteps,
                rounding: flags.rounding.into(),
                overflow: flags.overflow.into(),
            };
            quant::choose_formats(model, &options)?
        }
        (None, Some(path)) => {
            let spec = config::quant::read(path)?;
            if spec.timesteps < timesteps {
                eprintln!(
                    "warning: {} proves its membrane widths for T <= {}; simulating to T = {timesteps} may overflow (overflow events are counted)",
                    path.display(),
                    spec.timesteps
                );
            }
            spec
        }
        (None, None) => return Ok(None),
    };
    let quantized = quant::quantize_model(model, &spec).map_err(|e| match (file, &e) {
        // Name the line of the offending layer in the user's file.
        (Some(path), quant::QuantError::UnknownLayer { name, .. })
        | (Some(path), quant::QuantError::Layer { layer: name, .. }) => {
            let line = std::fs::read_to_string(path)
                .map(|t| config::quant::layer_line(&t, name))
                .unwrap_or(1);
            anyhow::anyhow!("{}:{line}: {e}", path.display())
        }
        (Some(path), _) => anyhow::anyhow!("{}: {e}", path.display()),
        (None, _) => e.into(),
    })?;
    for w in &quantized.warnings {
        eprintln!("warning: {w}");
    }
    Ok(Some(quantized))
}

/// The formats as a table: one row per layer with a datapath.
pub fn formats_table(q: &Quantized) -> Table {
    let mut table = Table::new([
        "layer",
        "scale",
        "weights",
        "bias",
        "threshold",
        "membrane",
        "accumulator",
        "clipped",
    ]);
    let datapath = q.model.layers.iter().filter_map(|l| match &l.kind {
        QLayerKind::Neurons(n) => Some((l, n)),
        QLayerKind::MaxGate { .. } => None,
    });
    for ((l, n), r) in datapath.zip(&q.layers) {
        let f = n.formats;
        table.row([
            l.name.clone(),
            format!("{:.4}", n.scale),
            format!("{} ({}b)", f.weights, f.weights.bits()),
            format!("{} ({}b)", f.bias, f.bias.bits()),
            format!("{} ({}b)", f.threshold, f.threshold.bits()),
            format!("{} ({}b)", f.membrane, f.membrane.bits()),
            format!("{} bits", n.accumulator_bits),
            r.clipped.to_string(),
        ]);
    }
    table
}

/// The `"quant"` object of the JSON reports.
pub fn quant_json(q: &Quantized) -> Value {
    let fmt = |f: quant::QFormat| json!({"bits": f.bits(), "frac": f.frac()});
    let datapath = q.model.layers.iter().filter_map(|l| match &l.kind {
        QLayerKind::Neurons(n) => Some((l, n)),
        QLayerKind::MaxGate { .. } => None,
    });
    let layers: Vec<Value> = datapath
        .zip(&q.layers)
        .map(|((l, n), r)| {
            json!({
                "name": l.name,
                "scale": n.scale,
                "weights": fmt(n.formats.weights),
                "bias": fmt(n.formats.bias),
                "threshold": fmt(n.formats.threshold),
                "membrane": fmt(n.formats.membrane),
                "accumulator_bits": n.accumulator_bits,
                "membrane_bits_needed": r.membrane_bits_needed,
                "clipped": r.clipped,
            })
        })
        .collect();
    json!({
        "rounding": q.model.rounding.name(),
        "overflow": q.model.overflow.name(),
        "timesteps": q.model.timesteps,
        "input": {"bits": q.model.input.format.bits(), "frac": q.model.input.format.frac(),
                  "scale": q.model.input.scale},
        "weight_memory_bits": q.model.weight_memory_bits(),
        "layers": layers,
        "warnings": q.warnings,
    })
}

/// The editable description of a quantised model.
pub fn spec_of(q: &quant::QuantModel) -> quant::QuantSpec {
    quant::QuantSpec {
        rounding: q.rounding,
        overflow: q.overflow,
        timesteps: q.timesteps,
        input: q.input,
        layers: q
            .layers
            .iter()
            .filter_map(|l| match &l.kind {
                QLayerKind::Neurons(n) => Some(quant::LayerSpec {
                    name: l.name.clone(),
                    scale: n.scale,
                    formats: n.formats,
                }),
                QLayerKind::MaxGate { .. } => None,
            })
            .collect(),
    }
}

pub fn run(args: &QuantizeArgs) -> anyhow::Result<()> {
    if args.timesteps == 0 {
        bail!("--timesteps must be positive");
    }
    let network =
        super::cmd_convert::load_network(&args.model, args.calib.as_deref(), &args.convert)?;
    let model = network.model();
    let quantized = resolve(model, Some(args.bits), None, &args.formats, args.timesteps)?
        .expect("--bits is required");
    // The spec of the model actually produced, so the file says exactly
    // what was simulated.
    let spec = spec_of(&quantized.model);
    let text = config::quant::to_yaml(&spec, &model.name);
    std::fs::write(&args.output, text)
        .with_context(|| format!("writing {}", args.output.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&quant_json(&quantized))?);
        return Ok(());
    }
    println!(
        "network '{}': {}-bit weights, {} rounding, {} on overflow; membranes proven for T <= {}",
        model.name,
        args.bits,
        quantized.model.rounding.name(),
        quantized.model.overflow.name(),
        quantized.model.timesteps
    );
    println!(
        "input: {} ({} bits), scale {:.6}",
        quantized.model.input.format,
        quantized.model.input.format.bits(),
        quantized.model.input.scale
    );
    println!("\n{}", formats_table(&quantized).render());
    println!(
        "weight memory: {} bits ({:.1} KiB); wrote {}",
        quantized.model.weight_memory_bits(),
        quantized.model.weight_memory_bits() as f64 / 8192.0,
        args.output.display()
    );
    Ok(())
}
