//! `snncc quantize MODEL --bits W -o q.yaml`: automatic fixed-point formats,
//! written as editable YAML.

use anyhow::{bail, Context};
use snncc::{config, pipeline};

use super::formats::{formats_table, quant_json, resolve};
use super::QuantizeArgs;

pub fn run(args: &QuantizeArgs) -> anyhow::Result<()> {
    if args.timesteps == 0 {
        bail!("--timesteps must be positive");
    }
    let network = super::network::load(&args.model, args.calib.as_deref(), &args.convert)?;
    let model = network.model();
    let quantized = resolve(model, Some(args.bits), None, &args.formats, args.timesteps)?
        .expect("--bits is required");
    // The spec of the model actually produced, so the file says exactly
    // what was simulated.
    let spec = pipeline::spec_of(&quantized.model);
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
