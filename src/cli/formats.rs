//! Fixed-point formats as the commands ask for them (`--bits`, `--quant`)
//! and as they print them (a table, the `"quant"` JSON object).

use std::path::Path;

use serde_json::{json, Value};
use snncc::pipeline::{self, Formats};
use snncc::quant::{self, QLayerKind, QuantOptions, Quantized};
use snncc::report::Table;
use snncc::snn::SnnModel;

use super::FormatFlags;

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
    let formats = match (bits, file) {
        (Some(bits), _) => Formats::Auto(QuantOptions {
            weight_bits: bits,
            input_bits: flags.input_bits,
            timesteps,
            rounding: flags.rounding.into(),
            overflow: flags.overflow.into(),
        }),
        (None, Some(path)) => Formats::File(path),
        (None, None) => return Ok(None),
    };
    let quantized = pipeline::quantise(model, formats)?;
    if let (Formats::File(path), proven) = (formats, quantized.model.timesteps) {
        if proven < timesteps {
            eprintln!(
                "warning: {} proves its membrane widths for T <= {proven}; simulating to T = {timesteps} may overflow (overflow events are counted)",
                path.display()
            );
        }
    }
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
