//! `snncc cosim OUT --data X [--limit N] [--simulator iverilog|verilator]`:
//! the built design against the bit-accurate simulator, value for value.

use anyhow::{bail, Context};
use ndarray::{s, Axis};
use rayon::prelude::*;
use serde_json::json;
use snncc::cosim::{self, Icarus, RtlSimulator, Verilator};
use snncc::{bitsim, codegen, config, data, quant, snn};

use super::{CosimArgs, SimulatorArg};

pub fn run(args: &CosimArgs) -> anyhow::Result<()> {
    let dir = &args.design;
    let built = super::built::Built::read(dir)?;
    let timesteps = built
        .field("timesteps")?
        .as_u64()
        .context("timesteps is not a number")? as usize;
    // The golden model, rebuilt from what build saved.
    let model = snn::load_net(&dir.join("net"))?;
    let spec = config::quant::read(&dir.join("quant.yaml"))?;
    let q = quant::quantize_model(&model, &spec)?.model;
    let design = codegen::design(&q, timesteps)?;
    let mut images = data::read_images(&args.data)?;
    let n = args.limit.min(images.dim().0);
    if n == 0 {
        bail!(
            "no inputs to co-simulate ({} is empty or --limit is 0)",
            args.data.display()
        );
    }
    images = images.slice_move(s![..n, .., .., ..]);
    let (_, h, w, c) = images.dim();
    if !model.input_shape.accepts(h, w, c) {
        bail!(
            "data file {}: inputs are {h}x{w}x{c}, the design takes {}",
            args.data.display(),
            model.input_shape
        );
    }
    let inputs: Vec<Vec<i64>> = images
        .axis_iter(Axis(0))
        .map(|x| {
            x.iter()
                .map(|&v| q.input.raw(v, q.rounding, q.overflow).0)
                .collect()
        })
        .collect();
    let expected: Vec<Vec<i64>> = (0..n)
        .into_par_iter()
        .map(|i| bitsim::readout_quantized(&q, images.index_axis(Axis(0), i), timesteps))
        .collect();
    let tb = codegen::write_testbench(&design, dir, &inputs, &expected)?;
    // The design as built (not regenerated): that is what is being checked.
    let rtl = built.rtl;
    let work = dir.join("sim").join(match args.simulator {
        SimulatorArg::Iverilog => "iverilog",
        SimulatorArg::Verilator => "verilator",
    });
    std::fs::create_dir_all(&work)?;
    let simulator: Box<dyn RtlSimulator> = match args.simulator {
        SimulatorArg::Iverilog => Box::new(Icarus),
        SimulatorArg::Verilator => Box::new(Verilator),
    };
    let output = match simulator.run(&work, &tb, &rtl, args.vcd) {
        Ok(text) => text,
        // A testbench that finds a mismatch fails; compare its output anyway.
        Err(cosim::CosimError::Failed { output, .. }) if output.contains("OUT ") => output,
        Err(e) => return Err(e.into()),
    };
    let report = cosim::compare(&output, &expected);
    // Kept for `snncc synth`'s latency figures.
    let record = json!({
        "images": report.images,
        "mismatches": report.mismatches,
        "cycles_per_image": report.cycles_per_image,
        "simulator": simulator.name(),
    });
    std::fs::write(
        dir.join("cosim.json"),
        serde_json::to_string_pretty(&record)?,
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "images": report.images,
                "mismatches": report.mismatches,
                "first_mismatch": report.first_mismatch,
                "cycles_per_image": report.cycles_per_image,
                "simulator": simulator.name(),
                "timesteps": timesteps,
            }))?
        );
    } else {
        println!(
            "{} inputs under {}: {} mismatches; {:.0} cycles per input ({timesteps} steps)",
            report.images,
            simulator.name(),
            report.mismatches,
            report.cycles_per_image
        );
    }
    if let Some(m) = &report.first_mismatch {
        bail!(
            "first mismatch: input {}, readout neuron {}: RTL {}, bit-accurate simulator {}",
            m.image,
            m.neuron,
            m.rtl.map_or("nothing".to_string(), |v| v.to_string()),
            m.expected
        );
    }
    Ok(())
}
